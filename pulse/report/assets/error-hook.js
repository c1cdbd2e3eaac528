(function () {
  var errors = [];
  function record(message) {
    errors.push(String(message));
    document.documentElement.setAttribute('data-js-errors', String(errors.length));
    var box = document.getElementById('js-errors');
    if (box) { box.textContent = errors.join('\n'); box.hidden = false; }
  }
  window.onerror = function (message, source, line) { record(message + ' (line ' + line + ')'); };
  window.addEventListener('unhandledrejection', function (e) { record(e.reason); });
  window.pulseRecordError = record;
})();
