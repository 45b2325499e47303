// Drive Microsoft's official SignalR JavaScript client (@microsoft/signalr) against the sandbox's
// hubs, the way the ProjectX docs connect: skipNegotiation + WebSockets + access_token in the
// URL and accessTokenFactory, and the same with negotiation (both at once). Prints one JSON report.
// KEEPALIVE_MS / SERVER_TIMEOUT_MS set the client's keep-alive interval and server timeout; the
// SignalR pings ({"type":6}) each connection sent and received are counted at its WebSocket.
const signalR = require("@microsoft/signalr");
const WebSocket = require("ws");
const cfg = JSON.parse(process.env.SANDBOX);
const holdMs = Number(process.env.HOLD_MS || "2000");
const keepAliveMs = process.env.KEEPALIVE_MS ? Number(process.env.KEEPALIVE_MS) : null;
const serverTimeoutMs = process.env.SERVER_TIMEOUT_MS ? Number(process.env.SERVER_TIMEOUT_MS) : null;
function pings(data) {
  return String(data).split("\x1e").filter(r => { try { return JSON.parse(r).type === 6; } catch (e) { return false; } }).length;
}
function countingWebSocket(counts) {
  return class extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on("message", data => { counts.pings_received += pings(data); });
    }
    send(data, ...rest) {
      counts.pings_sent += pings(data);
      return super.send(data, ...rest);
    }
  };
}
async function login() {
  const r = await fetch(cfg.base_url + "/api/Auth/loginKey", {method: "POST", headers: {"Content-Type": "application/json", "accept": "text/plain"}, body: JSON.stringify({userName: cfg.username, apiKey: cfg.api_key})});
  return (await r.json()).token;
}
async function run(token, skipNegotiation, hub, subs, events) {
  const counts = {pings_sent: 0, pings_received: 0};
  const socket = {WebSocket: countingWebSocket(counts)};
  const opts = skipNegotiation
    ? {skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets, accessTokenFactory: () => token, timeout: 10000, ...socket}
    : {accessTokenFactory: () => token, ...socket};
  const url = (hub === "user" ? cfg.user_hub : cfg.market_hub) + (skipNegotiation ? "?access_token=" + token : "");
  let builder = new signalR.HubConnectionBuilder().withUrl(url, opts).withAutomaticReconnect().configureLogging(signalR.LogLevel.Warning);
  if (keepAliveMs !== null) builder = builder.withKeepAliveInterval(keepAliveMs);
  if (serverTimeoutMs !== null) builder = builder.withServerTimeout(serverTimeoutMs);
  const conn = builder.build();
  const seen = {};
  let closed = null, reconnecting = 0;
  for (const e of events) conn.on(e, (...args) => { seen[e] = (seen[e] || 0) + 1; if (seen[e] === 1) seen[e + "_args"] = args.length; });
  conn.onclose(err => { closed = String(err); });
  conn.onreconnecting(() => { reconnecting += 1; });
  await conn.start();
  for (const [m, a] of subs) await conn.invoke(m, ...a);
  return {conn, seen, state: () => ({closed, reconnecting, state: conn.state}), counts,
          timing: {keepAliveMs: conn.keepAliveIntervalInMilliseconds, serverTimeoutMs: conn.serverTimeoutInMilliseconds}};
}
async function way(token, skip) {
  const m = await run(token, skip, "market", [["SubscribeContractQuotes", ["CON.F.US.MNQ.U26"]], ["SubscribeContractTrades", ["CON.F.US.MNQ.U26"]]], ["GatewayQuote", "GatewayTrade"]);
  const u = await run(token, skip, "user", [["SubscribeAccounts", []], ["SubscribeOrders", [cfg.account_id]], ["SubscribePositions", [cfg.account_id]], ["SubscribeTrades", [cfg.account_id]]], ["GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade"]);
  await fetch(cfg.base_url + "/api/Order/place", {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token}, body: JSON.stringify({accountId: cfg.account_id, contractId: "CON.F.US.MNQ.U26", type: 2, side: 0, size: 1})});
  await new Promise(res => setTimeout(res, holdMs));
  const report = {market: m.seen, user: u.seen, market_state: m.state(), user_state: u.state(),
                  market_pings: {...m.counts}, user_pings: {...u.counts}, timing: m.timing};
  await m.conn.stop(); await u.conn.stop();
  return report;
}
(async () => {
  const token = await login();
  const [skipped, negotiated] = await Promise.all([way(token, true), way(token, false)]);
  console.log(JSON.stringify({skipNegotiation: skipped, negotiate: negotiated}));
})().catch(e => { console.log(JSON.stringify({error: String(e)})); process.exit(1); });
