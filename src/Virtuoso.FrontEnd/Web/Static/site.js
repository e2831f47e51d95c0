// Behaviour that pages ask for with data attributes, so that no page carries inline script (the Content-Security-
// Policy forbids it, issue 20): a form or button with data-confirm asks before submitting; a link with data-back goes
// back (without JavaScript it goes to its href); a button with data-copy="#id" copies that field's value (a new API key)
// and, without a clipboard, selects it for the user to copy. The confirmation text is an attribute, never script.
(function () {
  document.addEventListener('submit', function (e) {
    var by = e.submitter, form = e.target;
    var text = (by && by.getAttribute('data-confirm')) || (form && form.getAttribute && form.getAttribute('data-confirm'));
    if (text && !window.confirm(text)) e.preventDefault();
  });
  document.addEventListener('click', function (e) {
    var link = e.target.closest && e.target.closest('a[data-back]');
    if (link && window.history.length > 1) { e.preventDefault(); window.history.back(); }
    var copy = e.target.closest && e.target.closest('[data-copy]');
    var field = copy && document.querySelector(copy.getAttribute('data-copy'));
    if (field) {
      field.select();
      // Refused (no permission, not a secure context): the field stays selected for the user to copy.
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(function () { copy.textContent = 'Copied'; }, function () {});
    }
  });
})();
