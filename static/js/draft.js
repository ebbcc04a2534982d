/* A draft of the submission form kept in this browser (localStorage) while one types: a reload, a
   closed tab or a lost connection does not lose the typing. An enhancement: nothing is sent anywhere.
   - The form (templates/submission_form.html) has data-bozza="<its action>", the key of its draft;
     opened afresh (data-bozza-ripristina, not a page sent back by the server with what was typed),
     it gets the draft back, with a notice and a button to throw the draft away.
   - Sending the form notes which draft it was (sessionStorage); the page of a submission received
     (data-bozza-inviata, templates/submission_tracking.html) deletes that draft.
   Who sends it and the privacy consent are not kept: only what describes the process. */
(function () {
  "use strict";

  var PREFIX = "osservatorio:bozza:";
  var SENDING = PREFIX + "in-invio";
  var KEPT_OUT = { _csrf_token: 1, sito_web: 1, conferma: 1, versione: 1, azione: 1, privacy: 1 };
  var ROW = /^(.+)\.(\d+)\.[a-z_]+$/;

  function storage(kind) {
    try {
      var store = window[kind];
      store.setItem(PREFIX + "prova", "1");
      store.removeItem(PREFIX + "prova");
      return store;
    } catch (error) {
      return null; // storage turned off or full: the form works as before
    }
  }

  var local = storage("localStorage");
  var session = storage("sessionStorage");
  if (!local) { return; }

  if (document.querySelector("[data-bozza-inviata]")) {
    var sent = session && session.getItem(SENDING);
    if (sent) {
      local.removeItem(sent);
      session.removeItem(SENDING);
    }
    return;
  }

  var form = document.querySelector("form[data-bozza]");
  if (!form) { return; }
  var key = PREFIX + form.getAttribute("data-bozza");

  function kept(element) {
    return element.name && !KEPT_OUT[element.name] && !element.disabled &&
      element.type !== "hidden" && element.type !== "submit" && element.type !== "button";
  }

  function collect() {
    var values = {};
    var typed = false;
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element)) { return; }
      if (element.type === "checkbox" || element.type === "radio") {
        if (!element.checked) { return; }
      } else if (!element.value) {
        return;
      }
      (values[element.name] = values[element.name] || []).push(element.value);
      typed = true;
    });
    return typed ? values : null;
  }

  var timer = null;
  function save() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var values = collect();
      try {
        if (values) {
          local.setItem(key, JSON.stringify({ saved: Date.now(), values: values }));
        }
      } catch (error) { /* storage full: nothing kept */ }
    }, 300);
  }

  function rowFor(name) {
    // a row the page does not show yet: its group's "Aggiungi" button adds it in place
    var match = ROW.exec(name);
    var button = match && form.querySelector('button[value="aggiungi:' + match[1] + '"]');
    for (var tries = 0; button && !form.elements.namedItem(name) && tries < 30; tries += 1) {
      button.click();
    }
  }

  function restore(values) {
    // what the draft does not have was emptied (a correction's form opens filled in)
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element) || values[element.name]) { return; }
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = false;
      } else {
        element.value = "";
      }
    });
    Object.keys(values).forEach(function (name) {
      if (KEPT_OUT[name]) { return; }
      rowFor(name);
      var found = form.querySelectorAll('[name="' + name.replace(/"/g, "") + '"]');
      Array.prototype.forEach.call(found, function (element) {
        if (element.type === "checkbox" || element.type === "radio") {
          element.checked = values[name].indexOf(element.value) !== -1;
        } else {
          element.value = values[name][0];
        }
        var section = element.closest("details");
        if (section) { section.open = true; }
      });
    });
  }

  function notice(saved) {
    var box = document.createElement("div");
    box.className = "notice draft-notice";
    box.setAttribute("role", "status");
    var text = document.createElement("p");
    var when = new Date(saved);
    text.textContent = "Bozza ripristinata: il modulo contiene quello che avevi scritto in questo browser" +
      (isNaN(when) ? "" : " il " + when.toLocaleDateString("it-IT") + " alle " +
        when.toLocaleTimeString("it-IT", { hour: "2-digit", minute: "2-digit" })) +
      ". La bozza resta solo qui e si cancella quando invii il modulo.";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.textContent = "Scarta la bozza";
    discard.addEventListener("click", function () {
      local.removeItem(key);
      // a new visit, not a reload: the browser would put the typing back in the fields
      window.location.replace(window.location.pathname + window.location.search);
    });
    box.appendChild(text);
    box.appendChild(discard);
    form.parentNode.insertBefore(box, form);
  }

  if (form.hasAttribute("data-bozza-ripristina")) {
    var draft = null;
    try { draft = JSON.parse(local.getItem(key) || "null"); } catch (error) { draft = null; }
    if (draft && draft.values) {
      restore(draft.values);
      notice(draft.saved);
    }
  }

  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var adding = submitter && submitter.value.indexOf("aggiungi:") === 0;
    if (session && !adding) { session.setItem(SENDING, key); }
  });
})();
