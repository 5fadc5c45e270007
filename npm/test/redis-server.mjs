// Debian's redis-server (installed by `make redis-server`) on a free loopback port, for the
// tests that need a real Redis (the BullMQ inbox). No persistence; stopped by `stop()`.
import { spawn } from "node:child_process";
import net from "node:net";

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const answers = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setTimeout(200);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    for (const event of ["error", "timeout"]) socket.once(event, () => (socket.destroy(), resolve(false)));
  });

export async function startRedis() {
  const port = await freePort();
  const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const exited = new Promise((resolve) => server.once("exit", resolve));
  for (let i = 0; !(await answers(port)); i += 1) {
    if (i > 100 || server.exitCode !== null) throw new Error("redis-server did not start (make redis-server installs it)");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    async stop() {
      server.kill("SIGTERM");
      await exited;
    },
  };
}
