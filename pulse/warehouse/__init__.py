"""The warehouse: connecting with a role, the names of schemas, roles and marts, locks, and `pulse
db init`.
"""
