// The filters of a list of processes (templates/_filters.html, form[data-facets]), enhanced: the
// "Filtri" disclosure opens by itself on wide screens, a ticked box or a new order applies at once
// (the page says so above the boxes), focus comes back to that control on the page that follows, and
// empty boxes stay out of the address. Without this script the "Applica i filtri" button does it all.
(function () {
  "use strict";
  var form = document.querySelector("form[data-facets]");
  if (!form) return;
  var KEY = "osservatorio:filtro-scelto";
  var disclosure = form.closest("details");
  var sidebar = form.closest(".filters");
  if (sidebar) sidebar.classList.add("js-enhanced");
  if (disclosure && window.matchMedia("(min-width: 48rem)").matches) disclosure.open = true;

  function escaped(text) {
    return window.CSS && CSS.escape ? CSS.escape(text) : text.replace(/["\\]/g, "\\$&");
  }

  function refocus() {
    var chosen = null;
    try {
      chosen = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (error) {
      return; // storage refused (private mode): focus stays where the browser puts it
    }
    if (!chosen) return;
    var selector = chosen.value === null
      ? '[name="' + escaped(chosen.name) + '"]'
      : 'input[name="' + escaped(chosen.name) + '"][value="' + escaped(chosen.value) + '"]';
    var control = form.querySelector(selector);
    if (!control) return;
    for (var node = control.parentElement; node && node !== document; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    control.focus();
  }

  form.addEventListener("change", function (event) {
    var control = event.target;
    var isBox = control.type === "checkbox";
    if (!isBox && control.tagName !== "SELECT") return; // years apply with the button or Enter
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ name: control.name, value: isBox ? control.value : null }));
    } catch (error) {
      // without storage the filter still applies; only the focus is not brought back
    }
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  });

  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && field.tagName !== "BUTTON" && !field.value.trim()) field.disabled = true;
    });
  });

  // back to this page from the history: the empty boxes disabled on leaving are usable again
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(form.elements, function (field) {
      field.disabled = false;
    });
  });

  refocus();
})();
