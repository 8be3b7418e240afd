// Starts GraphiQL from the self-hosted bundles loaded before this file; no inline script, so the
// page runs under `script-src 'self'`. The endpoint comes from the container's data-endpoint.
//
// Queries and mutations are POSTed as JSON. A subscription is POSTed the same way (the same
// headers from the headers editor, so the same client key) asking for text/event-stream: the
// gateway answers with GraphQL over SSE, one `next` event per change, which GraphiQL shows as
// they come. A browser WebSocket cannot carry an Authorization header; a fetch can, and needs
// no client library. Stopping the operation aborts the fetch, which ends the subscription.
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
    "# Live updates: run a subscription, e.g.",
    "#   subscription { candidateChanged { kind candidate { fullName } } }",
    "# change a candidate in another tab, watch it arrive; the run button stops it.",
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

  var JSON_ANSWERS = { accept: "application/graphql-response+json, application/json" };
  var EVENT_STREAM = { accept: "text/event-stream" };

  // Same-origin cookies only; the headers editor's values are merged in by the fetcher.
  function sameOriginFetch(url, init) {
    return window.fetch(url, Object.assign({}, init, { credentials: "same-origin" }));
  }

  var httpFetcher = GraphiQL.createFetcher({
    url: endpoint,
    fetch: sameOriginFetch,
    enableIncrementalDelivery: false,
    headers: JSON_ANSWERS,
  });

  // The operation GraphiQL runs: the one named, or the document's only one.
  function chosenOperation(documentAST, operationName) {
    var operations = ((documentAST && documentAST.definitions) || []).filter(function (node) {
      return node.kind === "OperationDefinition";
    });
    if (operationName) {
      return (
        operations.find(function (node) {
          return node.name && node.name.value === operationName;
        }) || null
      );
    }
    return operations.length === 1 ? operations[0] : null;
  }

  // Splits a text/event-stream into events as EventSource does: lines end with CRLF, LF or CR,
  // a blank line ends an event, a line starting with ":" is a comment (the server's heartbeat).
  function EventStreamParser() {
    this.rest = "";
    this.type = "";
    this.data = [];
    this.events = [];
  }

  EventStreamParser.prototype.push = function (text) {
    // A CR at the very end may be the first half of a CRLF: it waits for the next chunk.
    var lines = (this.rest + text).split(/\r\n|\r(?!$)|\n/);
    this.rest = lines.pop();
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line === "") {
        if (this.data.length) {
          this.events.push({ type: this.type || "message", data: this.data.join("\n") });
        }
        this.type = "";
        this.data = [];
        continue;
      }
      if (line.charAt(0) === ":") {
        continue;
      }
      var colon = line.indexOf(":");
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") {
        this.type = value;
      } else if (field === "data") {
        this.data.push(value);
      }
    }
  };

  EventStreamParser.prototype.take = function () {
    return this.events.length ? this.events.shift() : null;
  };

  // One subscription over GraphQL over SSE, as the AsyncIterable GraphiQL renders as a stream.
  // Written by hand rather than as an async generator: GraphiQL's stop button calls `return()`
  // while a `next()` is still waiting for an event, and a generator would queue that call
  // behind the wait; here it aborts the fetch at once, and the waiting `next()` ends the stream.
  function subscribeOverSSE(params, editorHeaders) {
    var controller = new AbortController();
    var decoder = new TextDecoder();
    var parser = new EventStreamParser();
    var reader = null;
    var finished = false;

    function ended() {
      return { value: undefined, done: true };
    }

    async function read() {
      if (reader === null) {
        var response = await sameOriginFetch(endpoint, {
          method: "POST",
          body: JSON.stringify(params),
          headers: Object.assign(
            { "content-type": "application/json" },
            EVENT_STREAM,
            editorHeaders
          ),
          signal: controller.signal,
        });
        var type = response.headers.get("content-type") || "";
        if (!response.body || type.split(";")[0].trim().toLowerCase() !== "text/event-stream") {
          var answer = await response.json(); // a refusal (no key, bad request): shown as is
          finished = true;
          return { value: answer, done: false };
        }
        reader = response.body.getReader();
      }
      for (;;) {
        var event = parser.take();
        if (event === null) {
          var chunk = await reader.read();
          if (chunk.done) {
            finished = true;
            return ended();
          }
          parser.push(decoder.decode(chunk.value, { stream: true }));
        } else if (event.type === "next") {
          return { value: JSON.parse(event.data), done: false };
        } else if (event.type === "complete") {
          finished = true;
          return ended();
        }
      }
    }

    var iterator = {
      next: function () {
        if (finished) {
          return Promise.resolve(ended());
        }
        return read().catch(function (error) {
          if (finished) {
            return ended(); // stopped: the abort rejected the fetch or the read it waited on
          }
          throw error;
        });
      },
      return: function () {
        finished = true;
        controller.abort(); // closes the connection: the server ends the subscription
        return Promise.resolve(ended());
      },
    };
    // GraphiQL stops a stream with `value[Symbol.asyncIterator]().return()`: the same iterator.
    iterator[Symbol.asyncIterator] = function () {
      return iterator;
    };
    return iterator;
  }

  function fetcher(params, options) {
    var operation = chosenOperation(options && options.documentAST, params.operationName);
    if (operation !== null && operation.operation === "subscription") {
      return subscribeOverSSE(params, options && options.headers);
    }
    return httpFetcher(params, options);
  }

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
