// Progressive countdowns on the account page: "in 59 min" ticks down as the page stays open. Without
// JavaScript the page shows the times as they were when it loaded (reload to refresh them).
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-countdown]'));
  if (items.length === 0) return;
  var loaded = Date.now();
  // The same words as the page (Core's Plain.Duration): "45 s", "59 min", "3 h 10 min", "1 day 4 h", "2 days 4 h", "12 days".
  function text(s) {
    if (s < 59.5) return Math.round(Math.max(0, s)) + ' s';
    var min = Math.round(s / 60);
    if (min < 60) return min + ' min';
    if (min < 24 * 60) return Math.floor(min / 60) + ' h' + (min % 60 ? ' ' + (min % 60) + ' min' : '');
    var h = Math.round(s / 3600), days = Math.floor(h / 24);
    if (h < 48) return '1 day' + (h === 24 ? '' : ' ' + (h - 24) + ' h');
    return days >= 10 || h % 24 === 0 ? Math.round(s / 86400) + ' days' : days + ' days ' + (h % 24) + ' h';
  }
  setInterval(function () {
    var gone = (Date.now() - loaded) / 1000;
    items.forEach(function (el) {
      var left = Math.max(0, parseFloat(el.getAttribute('data-countdown')) - gone);
      el.textContent = (el.hasAttribute('data-prefix') ? el.getAttribute('data-prefix') : 'in ') + text(left) + (left === 0 ? ' (due: the next billing pass charges it)' : '');
    });
  }, 1000);
})();
