// The Worker of ledger.test.mjs: runs ledger vectors inside workerd and applies status events
// to the D1 ledger (binding DB).
import * as telhook from "telhook";
import { runLedgerVector } from "./ledger-vectors.mjs";

let migrated;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/vector") return Response.json(runLedgerVector(telhook, await request.json()));
    const ledger = telhook.d1Ledger(env.DB);
    migrated ??= ledger.migrate();
    await migrated;
    if (url.pathname === "/d1") return Response.json(await ledger.apply(await request.json()));
    return new Response("not found", { status: 404 });
  },
};
