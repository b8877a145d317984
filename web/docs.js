// Starts Swagger UI on the page GET /docs serves (docs.html). A file rather than an inline script so
// the page's Content-Security-Policy can refuse inline scripts; the spec's address comes from the page.
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.specUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  // The default posts the spec's address to an external validator for a badge; the page stays offline.
  validatorUrl: null,
});
