// Starts GraphiQL from the self-hosted bundles loaded before this file; no inline script, so the
// page runs under `script-src 'self'`. The endpoint comes from the container's data-endpoint.
(function () {
  "use strict";

  var container = document.getElementById("graphiql");
  var endpoint = container.getAttribute("data-endpoint") || "/graphql";

  var defaultQuery = [
    "# ATS gateway over many ATS accounts.",
    "# Run: Ctrl-Enter. Complete: Ctrl-Space.",
    "# Client key: add it in Headers below,",
    '#   {"Authorization": "Bearer <key>"}',
    "# (this page does not store headers).",
    "",
    "{",
    "  accounts { id name provider }",
    "  candidates(first: 10) {",
    "    totalCount",
    "    sources { account { id } status totalCount }",
    "    edges { node { id fullName company } }",
    "  }",
    "}",
    "",
  ].join("\n");

  // Same-origin cookies only; the headers editor's values are merged in by the fetcher.
  function sameOriginFetch(url, init) {
    return window.fetch(url, Object.assign({}, init, { credentials: "same-origin" }));
  }

  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    fetch: sameOriginFetch,
    enableIncrementalDelivery: false,
    headers: { accept: "application/graphql-response+json, application/json" },
  });

  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      plugins: [explorer],
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
