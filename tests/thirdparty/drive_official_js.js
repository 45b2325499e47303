// Drive Microsoft's official SignalR JavaScript client (@microsoft/signalr) against the sandbox's
// hubs, the way the ProjectX docs connect: skipNegotiation + WebSockets + access_token in the
// URL and accessTokenFactory, then the same with negotiation. Prints one JSON report.
const signalR = require("@microsoft/signalr");
const cfg = JSON.parse(process.env.SANDBOX);
const holdMs = Number(process.env.HOLD_MS || "2000");
async function login() {
  const r = await fetch(cfg.base_url + "/api/Auth/loginKey", {method: "POST", headers: {"Content-Type": "application/json", "accept": "text/plain"}, body: JSON.stringify({userName: cfg.username, apiKey: cfg.api_key})});
  return (await r.json()).token;
}
async function run(token, skipNegotiation, hub, subs, events) {
  const opts = skipNegotiation
    ? {skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets, accessTokenFactory: () => token, timeout: 10000}
    : {accessTokenFactory: () => token};
  const url = (hub === "user" ? cfg.user_hub : cfg.market_hub) + (skipNegotiation ? "?access_token=" + token : "");
  const conn = new signalR.HubConnectionBuilder().withUrl(url, opts).withAutomaticReconnect().configureLogging(signalR.LogLevel.Warning).build();
  const seen = {};
  let closed = null, reconnecting = 0;
  for (const e of events) conn.on(e, (...args) => { seen[e] = (seen[e] || 0) + 1; if (seen[e] === 1) seen[e + "_args"] = args.length; });
  conn.onclose(err => { closed = String(err); });
  conn.onreconnecting(() => { reconnecting += 1; });
  await conn.start();
  for (const [m, a] of subs) await conn.invoke(m, ...a);
  return {conn, seen, state: () => ({closed, reconnecting, state: conn.state})};
}
(async () => {
  const token = await login();
  const out = {};
  for (const skip of [true, false]) {
    const m = await run(token, skip, "market", [["SubscribeContractQuotes", ["CON.F.US.MNQ.U26"]], ["SubscribeContractTrades", ["CON.F.US.MNQ.U26"]]], ["GatewayQuote", "GatewayTrade"]);
    const u = await run(token, skip, "user", [["SubscribeAccounts", []], ["SubscribeOrders", [cfg.account_id]], ["SubscribePositions", [cfg.account_id]], ["SubscribeTrades", [cfg.account_id]]], ["GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade"]);
    const r = await fetch(cfg.base_url + "/api/Order/place", {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token}, body: JSON.stringify({accountId: cfg.account_id, contractId: "CON.F.US.MNQ.U26", type: 2, side: 0, size: 1})});
    await new Promise(res => setTimeout(res, holdMs));
    out[skip ? "skipNegotiation" : "negotiate"] = {market: m.seen, user: u.seen, market_state: m.state(), user_state: u.state()};
    await m.conn.stop(); await u.conn.stop();
  }
  console.log(JSON.stringify(out));
})().catch(e => { console.log(JSON.stringify({error: String(e)})); process.exit(1); });
