// graphql-js's execute over a prepared answer, timed: the peer figure `bench.execute --graphql-js`
// prints beside the gateway's CPU inside Schema.execute.
//
//   node bench/graphql_js_execute.cjs CASE.json REQUESTS GRAPHQL_PACKAGE_DIR
//
// CASE.json holds `sdl` (the gateway's schema), `query`, `variables` and `root` (the data the
// gateway answered). Every field resolves by graphql-js's default resolver, reading a property
// of plain objects: what is timed is graphql-js's own work per field (resolve info, completion,
// serialization), with no resolver logic of ours. The document is parsed and validated once, as
// the gateway's caches do. Prints one JSON line: CPU ms per execute, and whether the result
// equals `root`.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { isDeepStrictEqual } = require("node:util");

const [casePath, requestsText, packageDir] = process.argv.slice(2);
const { buildSchema, parse, validate, execute } = require(path.resolve(packageDir));
const spec = JSON.parse(fs.readFileSync(casePath, "utf8"));
const requests = Number(requestsText);

const schema = buildSchema(spec.sdl);
const document = parse(spec.query);
const errors = validate(schema, document);
if (errors.length > 0) {
  throw new Error(`the query does not validate: ${errors[0].message}`);
}

function run() {
  return execute({
    schema,
    document,
    rootValue: spec.root,
    variableValues: spec.variables,
  });
}

const first = run();
if (first.errors) {
  throw new Error(`graphql-js answered errors: ${first.errors[0].message}`);
}
for (let i = 0; i < Math.max(300, requests); i++) {
  run(); // warm-up: V8 optimizes the hot paths first
}
const began = process.cpuUsage();
for (let i = 0; i < requests; i++) {
  run();
}
const spent = process.cpuUsage(began);
const data = JSON.parse(JSON.stringify(first.data));
process.stdout.write(
  `${JSON.stringify({
    execute_ms: (spent.user + spent.system) / 1000 / requests,
    same_data: isDeepStrictEqual(data, spec.root),
  })}\n`,
);
