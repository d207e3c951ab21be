// The GraphQL-over-HTTP audit of the npm package graphql-http, run against a live server.
//
//   QUHUA_AUDIT_TOKEN=… node tests/graphql_http_audit.mjs PREFIX URL
//
// PREFIX is the folder graphql-http was installed into (`npm install --prefix PREFIX`); the
// token, when set, goes with every request as a bearer token (in the environment, not on a
// command line other users of the machine can read). Prints one JSON array:
// [{id, name, status, reason}], status being ok, notice (a MAY), warn (a SHOULD) or error
// (a MUST). Exits 0 whatever the results say: judging them is the test's part.
import { createRequire } from "node:module";
import { resolve } from "node:path";

const [prefix, url] = process.argv.slice(2);
const token = process.env.QUHUA_AUDIT_TOKEN;
if (!prefix || !url) {
  console.error("usage: node graphql_http_audit.mjs PREFIX URL");
  process.exit(2);
}
if (typeof fetch !== "function") {
  console.error(`Node.js ${process.version} has no fetch: the audit needs Node.js 18 or newer`);
  process.exit(2);
}
const { serverAudits } = createRequire(resolve(prefix, "package.json"))("graphql-http");

function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  if (token) {
    headers.set("authorization", `Bearer ${token}`);
  }
  return fetch(input, { ...init, headers });
}

const results = [];
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === "ok" ? null : result.reason,
  });
}
console.log(JSON.stringify(results));
