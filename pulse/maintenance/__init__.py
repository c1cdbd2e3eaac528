"""Operations on what is stored: member erasure and dead-letter replay."""
