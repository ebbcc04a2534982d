/* Suggestions as you type: an ARIA 1.2 combobox with a list of suggestions from the API.
   An enhancement only: without this script the fields are plain text boxes and work the same.
   A field with data-suggest="territori" or "enti" (the process form: an input, or a textarea with
   one name a line) gets matching names to put in the field; one with data-suggest="ricerca" (the
   search boxes) gets processes, organisations, territories and terms, whose page the chosen one
   opens. Choose with the arrow keys and Enter, or a click; Escape closes the list; Enter with no
   suggestion chosen submits the form as before. */
(function () {
  "use strict";

  var SOURCES = {
    territori: {
      url: "/api/v1/territori?q=",
      // What the server reads back without ambiguity: "Chieri (TO)", "Piemonte (R01)".
      value: function (t) {
        return t.level === "comune" && t.plate ? t.name + " (" + t.plate + ")" : t.name + " (" + t.code + ")";
      },
      describe: function (t) {
        return t.level + (t.parent_name ? ", " + t.parent_name : "");
      }
      // ranked by the API: the exact name, then names that start so, then bigger places first
    },
    enti: {
      url: "/api/v1/enti?q=",
      value: function (o) { return o.name; },
      describe: function (o) { return o.kind_label + (o.territory ? ", " + o.territory.name : ""); }
    },
    ricerca: {
      url: "/api/v1/suggerimenti?q=",
      value: function (s) { return s.label; },
      describe: function (s) { return (KINDS[s.kind] || s.kind) + (s.detail ? " · " + s.detail : ""); },
      // a suggestion is a page to open, not a text to put in the field
      open: function (s) { window.location.assign(s.url); },
      most: 16
    }
  };
  var KINDS = { processo: "Processo", ente: "Ente", territorio: "Territorio", termine: "Categoria" };
  var MAX_ITEMS = 8;
  var counter = 0;

  function currentLine(field) {
    if (field.tagName !== "TEXTAREA") {
      return { start: 0, end: field.value.length, text: field.value };
    }
    var value = field.value;
    var caret = field.selectionStart;
    var start = value.lastIndexOf("\n", caret - 1) + 1;
    var end = value.indexOf("\n", caret);
    if (end === -1) { end = value.length; }
    return { start: start, end: end, text: value.slice(start, end) };
  }

  function attach(field) {
    var source = SOURCES[field.getAttribute("data-suggest")];
    // a page may load this script twice (a form and a filter box): attach once
    if (!source || !window.fetch || field.hasAttribute("aria-controls")) { return; }
    var id = (field.id || "campo-" + counter) + "-suggerimenti";
    counter += 1;
    var list = document.createElement("ul");
    list.id = id;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggerimenti");
    list.hidden = true;
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);
    if (field.tagName === "INPUT") { field.setAttribute("role", "combobox"); }
    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-controls", id);
    // aria-expanded belongs to comboboxes only: a textarea (one name per line) may not carry it
    if (field.tagName === "INPUT") {
      field.setAttribute("aria-expanded", "false");
      field.setAttribute("autocomplete", "off");
    }

    var items = [];
    var active = -1;
    var timer = null;
    var pending = null;

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      items = [];
      active = -1;
      if (field.tagName === "INPUT") { field.setAttribute("aria-expanded", "false"); }
      field.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var options = list.children;
      for (var i = 0; i < options.length; i += 1) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0) {
        field.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        field.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      if (source.open) {
        var item = items[index];
        close();
        source.open(item);
        return;
      }
      var line = currentLine(field);
      var text = source.value(items[index]);
      field.value = field.value.slice(0, line.start) + text + field.value.slice(line.end);
      var caret = line.start + text.length;
      field.focus();
      field.setSelectionRange(caret, caret);
      close();
      status.textContent = text + " inserito.";
      // for the scripts that follow what is typed (holders.js, draft.js)
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(found) {
      list.innerHTML = "";
      items = found.slice(0, source.most || MAX_ITEMS);
      items.forEach(function (item, i) {
        var option = document.createElement("li");
        option.id = id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.textContent = source.value(item);
        var detail = document.createElement("span");
        detail.className = "meta";
        detail.textContent = " " + source.describe(item);
        option.appendChild(name);
        option.appendChild(detail);
        option.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the field
          choose(i);
        });
        list.appendChild(option);
      });
      active = -1;
      list.hidden = items.length === 0;
      if (field.tagName === "INPUT") { field.setAttribute("aria-expanded", items.length ? "true" : "false"); }
      status.textContent = items.length
        ? (items.length === 1 ? "1 suggerimento" : items.length + " suggerimenti") +
          ": usa le frecce e Invio per sceglierne uno."
        : "";
    }

    function lookUp() {
      var query = currentLine(field).text.trim();
      if (query.length < 2) { close(); return; }
      if (pending) { pending.abort(); }
      pending = window.AbortController ? new AbortController() : null;
      fetch(source.url + encodeURIComponent(query), {
        headers: { Accept: "application/json" },
        signal: pending ? pending.signal : undefined
      })
        .then(function (response) { return response.ok ? response.json() : { items: [] }; })
        .then(function (data) {
          // an answer for a text typed before the current one is not shown
          if (document.activeElement === field && currentLine(field).text.trim() === query) {
            show(data.items || []);
          }
        })
        .catch(function () { /* aborted or offline: the field still works as typed */ });
    }

    field.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookUp, 200);
    });
    field.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    field.addEventListener("blur", function () { window.setTimeout(close, 150); });
  }

  function start() {
    var fields = document.querySelectorAll("[data-suggest]");
    for (var i = 0; i < fields.length; i += 1) { attach(fields[i]); }
    // a row added in place by process_form.js
    document.addEventListener("osservatorio:riga", function (event) {
      event.target.querySelectorAll("[data-suggest]").forEach(attach);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
