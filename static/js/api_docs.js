// The API documentation (/schema): Swagger UI, served by this site, draws the OpenAPI document in
// place of the plain list of operations. Nothing is asked of other sites (no validator badge).
(function () {
  "use strict";
  var root = document.getElementById("api-viewer");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }

  // Swagger UI shows code examples and responses in <pre> boxes that scroll sideways but cannot
  // take the focus: a keyboard user could not scroll them (WCAG 2.1.1). Each gets a tab stop.
  function letBoxesScrollByKeyboard() {
    var boxes = root.querySelectorAll(".opblock-body pre:not([tabindex])");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].setAttribute("tabindex", "0");
    }
  }

  // Swagger UI draws a field for each parameter with no label: each is named after its parameter.
  function nameParameterFields() {
    var rows = root.querySelectorAll("tr[data-param-name]");
    for (var i = 0; i < rows.length; i++) {
      var fields = rows[i].querySelectorAll(
        "input:not([aria-label]), select:not([aria-label]), textarea:not([aria-label])"
      );
      for (var j = 0; j < fields.length; j++) {
        fields[j].setAttribute("aria-label", rows[i].getAttribute("data-param-name"));
      }
    }
  }

  function fixWhatSwaggerDrew() {
    letBoxesScrollByKeyboard();
    nameParameterFields();
  }

  window.SwaggerUIBundle({
    url: root.getAttribute("data-document"),
    domNode: root,
    // With deep links every operation's path is a link inside the button that opens it: two
    // controls in one, which screen readers cannot tell apart (axe: nested-interactive).
    deepLinking: false,
    validatorUrl: null,
    supportedSubmitMethods: ["get"],
    // The coloured highlighting writes numbers in red on dark grey (3.4:1): plain white instead.
    syntaxHighlight: { activated: false },
    onComplete: function () {
      var plain = document.querySelector(".api-operations");
      if (plain) {
        plain.hidden = true;
      }
      fixWhatSwaggerDrew();
      new MutationObserver(fixWhatSwaggerDrew).observe(root, { childList: true, subtree: true });
    },
  });
})();
