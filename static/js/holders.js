/* While one types the decision holders and the territories of the submission form: a holder named
   "Comune di X" whose X is not among the territories is pointed out under the holders at once.
   An enhancement: the server says the same before storing the submission (submissions/comuni.py),
   and knows the comuni inside a province or a region, which this hint does not. */
(function () {
  "use strict";

  var holders = document.getElementById("campo-decision-holders");
  var territories = document.getElementById("campo-territories");
  if (!holders || !territories) { return; }
  var NAMED_COMUNE = /^(?:comune|citta) di (.+)$/;

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[’']/g, " ").replace(/[^a-z0-9]+/g, " ").trim();
  }

  function lines(field) {
    return field.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
  }

  var hint = document.createElement("p");
  hint.id = "campo-decision-holders-comuni";
  hint.className = "hint comuni-hint";
  hint.setAttribute("aria-live", "polite");
  holders.insertAdjacentElement("afterend", hint);

  function check() {
    // "Chieri (TO)" is Chieri: the province's sigla is left out
    var places = lines(territories).map(function (line) { return fold(line.replace(/\s*\([^()]*\)$/, "")); });
    var missing = [];
    lines(holders).forEach(function (line) {
      var named = NAMED_COMUNE.exec(fold(line));
      if (named && places.indexOf(named[1]) === -1) { missing.push(line); }
    });
    hint.textContent = missing.length
      ? "Tra i titolari c'è " + missing.map(function (name) { return "«" + name + "»"; }).join(", ") +
        ", ma tra i territori interessati non " + (missing.length === 1 ? "c'è il suo comune" : "ci sono i loro comuni") +
        ": se il processo " + (missing.length === 1 ? "lo" : "li") + " riguarda, aggiungi" +
        (missing.length === 1 ? "lo" : "li") + " ai territori."
      : "";
  }

  holders.addEventListener("input", check);
  holders.addEventListener("change", check);
  territories.addEventListener("input", check);
  territories.addEventListener("change", check);
})();
