// conformance.js runs Microsoft's Graph JavaScript client
// (@microsoft/microsoft-graph-client) against the bulkpatch Graph emulator
// over TLS and prints what it saw as one JSON object on stdout. The Go test
// TestGraphJSClient starts the emulators, runs this script with NODE_PATH
// pointing at the installed client and NODE_EXTRA_CA_CERTS at the
// emulators' certificates, and checks the result; TestGraphRawHTTP makes
// the same requests with net/http and checks the same expectations.
//
// CONFORMANCE (JSON) says where: {token, ok, noContent, retry} are API
// roots such as https://127.0.0.1:41234/beta, {list, status, status2,
// missing} paths below them.
"use strict";

const { Client, PageIterator, BatchRequestContent, BatchResponseContent, ResponseType } =
  require("@microsoft/microsoft-graph-client");

const cfg = JSON.parse(process.env.CONFORMANCE);

// client returns a Graph client for an emulator root. The client sends the
// token and a client-request-id only to Graph's hosts and customHosts, and
// only over https.
function client(root) {
  const u = new URL(root);
  return Client.init({
    baseUrl: u.origin,
    defaultVersion: u.pathname.replace(/^\//, ""),
    customHosts: new Set([u.hostname]),
    authProvider: (done) => done(null, cfg.token),
  });
}

async function main() {
  const out = {};
  const ok = client(cfg.ok);

  // PATCH answered 200 with the object, then 204 with nothing.
  const raw = await ok.api(cfg.status).responseType(ResponseType.RAW).patch({ deviceName: "client-200" });
  out.patch200 = { status: raw.status, deviceName: (await raw.json()).deviceName, requestId: raw.headers.get("request-id") || "" };
  const noContent = client(cfg.noContent);
  const raw204 = await noContent.api(cfg.status).responseType(ResponseType.RAW).patch({ deviceName: "client-204" });
  const empty = await noContent.api(cfg.status).patch({ deviceName: "client-204" }); // must not throw on no body
  out.patch204 = { status: raw204.status, body: (await raw204.text()) + (empty === undefined || empty === null ? "" : JSON.stringify(empty)) };

  // PageIterator follows the absolute @odata.nextLink to the end.
  const first = await ok.api(cfg.list).get();
  out.pageIDs = [];
  await new PageIterator(ok, first, (item) => { out.pageIDs.push(item.id); return true; }).iterate();

  // $batch: a 404, and a chain of dependants that Graph answers 424. Item
  // urls are given without the version: client 3.0.7 strips only the host
  // (msgraph-sdk-javascript#1178, #1451), and Graph refuses a versioned
  // item url with "Resource not found for the segment 'beta'".
  const origin = new URL(cfg.ok).origin;
  const json = { "Content-Type": "application/json" };
  const batch = new BatchRequestContent([
    { id: "1", request: new Request(origin + cfg.missing, { method: "GET" }) },
    { id: "2", request: new Request(origin + cfg.status, { method: "PATCH", headers: json, body: JSON.stringify({ deviceName: "never" }) }), dependsOn: ["1"] },
    { id: "3", request: new Request(origin + cfg.status, { method: "GET" }), dependsOn: ["2"] },
  ]);
  const answers = new BatchResponseContent(await ok.api("/$batch").post(await batch.getContent()));
  out.batch = {};
  for (const [id, res] of answers.getResponses()) {
    const body = await res.json();
    out.batch[id] = { status: res.status, code: (body && body.error && body.error.code) || "" };
  }

  // RetryHandler: the second PATCH meets a full write window and a
  // fractional Retry-After; the client waits it out and succeeds.
  const retry = client(cfg.retry);
  await retry.api(cfg.status).patch({ deviceName: "first" });
  const second = await retry.api(cfg.status).patch({ deviceName: "second" });
  out.retry = { status: 200, deviceName: second.deviceName };

  // Errors surface with Graph's status, code and request ids.
  try {
    await ok.api(cfg.missing).get();
    out.notFound = { status: 200 };
  } catch (e) {
    out.notFound = { status: e.statusCode, code: e.code, requestId: e.requestId || "", clientRequestId: (e.headers && e.headers.get("client-request-id")) || "" };
  }
  return out;
}

main().then(
  (out) => console.log(JSON.stringify(out)),
  (err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); },
);
