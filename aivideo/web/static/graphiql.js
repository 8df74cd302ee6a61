// Starts GraphiQL against this server's /graphql, over HTTP and its websocket.
// #query=…&variables=… open a tab with that operation (links, the browser tests). In the
// fragment, not the query string: a GET /graphql?query=… is executed by the server.
"use strict";
(() => {
  const url = new URL("/graphql", window.location.href).toString();
  const subscriptionUrl = url.replace(/^http/, "ws");
  const params = new URLSearchParams(window.location.hash.slice(1));
  const example = document.getElementById("example-query").textContent.trim() + "\n";
  // GraphiQL's own fetcher sends the Headers editor's values as connection_init params.
  const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl });
  const props = {
    fetcher,
    defaultQuery: example,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  };
  if (params.has("query")) props.query = params.get("query");
  if (params.has("variables")) props.variables = params.get("variables");
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, props));
})();
