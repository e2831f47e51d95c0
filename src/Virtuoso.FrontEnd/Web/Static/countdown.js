// Progressive countdowns on the account page: "in 3566 seconds" ticks down as the page stays open. Without
// JavaScript the page shows the times as they were when it loaded (reload to refresh them).
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-countdown]'));
  if (items.length === 0) return;
  var loaded = Date.now();
  function text(s) {
    if (s < 120) return Math.round(s) + ' seconds';
    if (s < 7200) return (Math.round(s / 6) / 10) + ' minutes';
    if (s < 172800) return (Math.round(s / 36) / 100) + ' hours';
    return (Math.round(s / 864) / 100) + ' days';
  }
  setInterval(function () {
    var gone = (Date.now() - loaded) / 1000;
    items.forEach(function (el) {
      var left = Math.max(0, parseFloat(el.getAttribute('data-countdown')) - gone);
      el.textContent = (el.hasAttribute('data-prefix') ? el.getAttribute('data-prefix') : 'in ') + text(left) + (left === 0 ? ' (due: the next billing pass charges it)' : '');
    });
  }, 1000);
})();
