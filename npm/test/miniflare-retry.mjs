// miniflare's undici pool can reuse a keep-alive connection that workerd has just closed
// (cloudflare/workers-sdk#11642, seen here under load): the request fails with ECONNRESET
// before reaching the Worker. Such a request is sent once more; any other failure stands.
const RESET_CODES = new Set(["ECONNRESET", "ECONNABORTED", "EPIPE", "UND_ERR_SOCKET"]);

export async function retryOnReset(send) {
  try {
    return await send();
  } catch (error) {
    if (!RESET_CODES.has(error?.cause?.code)) throw error;
    return send();
  }
}
