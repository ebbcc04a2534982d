/* The process form (templates/_process_form.html), enhanced; without this script it works the same.
   - A group's "Aggiungi" button adds a row in place, from the group's <template>, and puts the focus
     in its first input, instead of sending the form back to add it.
   - After a refused submission the error summary takes the focus (it has autofocus too). */
(function () {
  "use strict";

  var PLACEHOLDER = /NUOVA/g;

  function addRow(button, focus) {
    var template = document.getElementById(button.getAttribute("data-modello"));
    var group = button.closest(".group");
    var rows = group && group.querySelector(".rows");
    if (!template || !rows) { return false; }
    var last = 0;
    rows.querySelectorAll("[data-riga]").forEach(function (row) {
      last = Math.max(last, parseInt(row.getAttribute("data-riga"), 10) || 0);
    });
    rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(PLACEHOLDER, String(last + 1)));
    var row = rows.lastElementChild;
    // suggestions (suggest.js) for the names and places typed in the new row
    row.dispatchEvent(new CustomEvent("osservatorio:riga", { bubbles: true }));
    var first = row.querySelector("input, select, textarea");
    if (focus && first) { first.focus(); }
    return true;
  }

  document.querySelectorAll("button[data-modello]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      // a person's click moves the focus to the new row; a script's (draft.js restoring) does not
      if (addRow(button, event.isTrusted)) { event.preventDefault(); }
    });
  });

  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
})();
