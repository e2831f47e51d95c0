// Progressive countdowns on the account page: "in 59 min" ticks down as the page stays open. Without
// JavaScript the page shows the times as they were when it loaded (reload to refresh them).
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-countdown]'));
  if (items.length === 0) return;
  var loaded = Date.now();
  // The same plain units as Show.Duration in Web/WebPage.cs.
  function text(s) {
    if (s < 59.5) return Math.round(Math.max(0, s)) + ' s';
    var minutes = Math.round(s / 60);
    if (minutes < 60) return minutes + ' min';
    if (minutes < 1440) return Math.floor(minutes / 60) + ' h' + (minutes % 60 === 0 ? '' : ' ' + (minutes % 60) + ' min');
    var hours = Math.round(s / 3600);
    if (hours < 48) return '1 day' + (hours % 24 === 0 ? '' : ' ' + (hours - 24) + ' h');
    return Math.round(s / 86400) + ' days';
  }
  setInterval(function () {
    var gone = (Date.now() - loaded) / 1000;
    items.forEach(function (el) {
      var left = Math.max(0, parseFloat(el.getAttribute('data-countdown')) - gone);
      el.textContent = (el.hasAttribute('data-prefix') ? el.getAttribute('data-prefix') : 'in ') + text(left) + (left === 0 ? ' (due: the next billing pass charges it)' : '');
    });
  }, 1000);
})();
