/* Renders the OpenAPI document with Redoc (served from this service's static files). */
(function () {
  "use strict";
  var element = document.getElementById("redoc");
  if (!element || !window.Redoc) { return; }
  window.Redoc.init(element.dataset.specUrl, {
    scrollYOffset: ".site-header",
    hideHostname: false,
    expandResponses: "200",
    theme: {
      colors: { primary: { main: "#4f46e5" } },
      typography: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                    headings: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" },
                    code: { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" } }
    }
  }, element);
})();
