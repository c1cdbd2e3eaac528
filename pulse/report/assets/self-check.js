(function () {
  var figures = document.querySelectorAll('figure[data-chart]');
  var counts = {}, empty = [];
  figures.forEach(function (figure) {
    var name = figure.getAttribute('data-chart');
    var drawn = figure.querySelectorAll('.pt').length;
    counts[name] = drawn;
    if (String(drawn) !== figure.getAttribute('data-points')) {
      window.pulseRecordError('chart ' + name + ' drew ' + drawn + ' points, expected '
        + figure.getAttribute('data-points'));
    }
    if (drawn === 0 && !figure.hasAttribute('data-empty-ok')) { empty.push(name); }
  });
  var errors = document.documentElement.getAttribute('data-js-errors') || '0';
  var body = document.body;
  body.setAttribute('data-chart-counts', JSON.stringify(counts));
  body.setAttribute('data-empty-charts', empty.join(','));
  body.setAttribute('data-js-errors', errors);
  body.setAttribute('data-js-ok',
    figures.length > 0 && empty.length === 0 && errors === '0' ? 'true' : 'false');
})();
