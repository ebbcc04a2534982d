// The API documentation (/schema): Swagger UI, served by this site, draws the OpenAPI document in
// place of the plain list of operations. Nothing is asked of other sites (no validator badge).
(function () {
  "use strict";
  var root = document.getElementById("api-viewer");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-document"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    supportedSubmitMethods: ["get"],
    onComplete: function () {
      var plain = document.querySelector(".api-operations");
      if (plain) {
        plain.hidden = true;
      }
    },
  });
})();
