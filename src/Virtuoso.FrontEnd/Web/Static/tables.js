// Tables on every page, made readable on any screen without changing the pages: each table is wrapped in a box that
// scrolls sideways when the table is wider than its place (never the page), and each cell gets its column's heading as
// data-label, which site.css shows beside the value when a narrow screen stacks the rows as cards (table.stack).
// Without JavaScript a table still scrolls in its own box on a narrow screen (site.css).
(function () {
  var tables = document.querySelectorAll('main table');
  for (var t = 0; t < tables.length; t++) {
    var table = tables[t];
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (head) {
      var labels = [];
      for (var h = 0; h < head.cells.length; h++)
        for (var span = 0; span < head.cells[h].colSpan; span++) labels.push(head.cells[h].textContent.trim());
      // Body rows only: a footer's cells (totals spanning columns) say what they are themselves.
      var rows = table.querySelectorAll(':scope > tbody > tr');
      for (var r = 0; r < rows.length; r++) {
        var col = 0;
        for (var c = 0; c < rows[r].cells.length; c++) {
          var cell = rows[r].cells[c];
          if (!cell.hasAttribute('data-label') && labels[col]) cell.setAttribute('data-label', labels[col]);
          col += cell.colSpan;
        }
      }
      table.classList.add('stack');
    }
    if (!table.parentElement.classList.contains('table-scroll')) {
      var box = document.createElement('div');
      box.className = 'table-scroll';
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    }
  }
})();
