import { INSTANCE_FILES, INSTANCE_LAYOUT, localLayout } from "../../../runtime/boot/layout";

describe("the boot's layout", () => {
  test("an instance keeps each kind of file under its system directory", () => {
    expect(INSTANCE_LAYOUT).toEqual({
      installRoot: "/opt/graviton-llm/llama.cpp",
      stateDir: "/var/lib/graviton-llm",
      modelDir: "/var/lib/graviton-llm/models",
      logDir: "/var/log/graviton-llm",
      secretDir: "/etc/graviton-llm",
      buildWork: "/var/lib/graviton-llm/build-work",
      apiKeyFile: "/etc/graviton-llm/api-key",
      pidFile: "/var/lib/graviton-llm/llama-server.pid",
      bootLog: "/var/log/graviton-llm/boot.log",
      serverLog: "/var/log/graviton-llm/server.log",
      bootLock: "/var/lib/graviton-llm/boot.lock",
      bootResult: "/var/lib/graviton-llm/boot-result.json",
    });
    expect(INSTANCE_FILES).toEqual({
      bootProgram: "/opt/graviton-llm/boot.js",
      bootResult: "/var/lib/graviton-llm/boot-result.json",
      bootEnv: "/etc/graviton-llm/boot.env",
      pins: "/etc/graviton-llm/pins.json",
      builderSignal: "/etc/graviton-llm/builder-signal-url",
      agentConfig: "/etc/graviton-llm/cloudwatch-agent.json",
      prometheusConfig: "/etc/graviton-llm/prometheus.yaml",
      agentLog: "/var/log/graviton-llm/cloudwatch-agent.log",
      rotateServerLogScript: "/opt/graviton-llm/rotate-server-log.sh",
    });
  });

  test("a local boot keeps everything under its work directory", () => {
    const layout = localLayout("/home/dev/gllm/");
    for (const p of Object.values(layout)) expect(p.startsWith("/home/dev/gllm/")).toBe(true);
    expect(layout.pidFile).toBe("/home/dev/gllm/state/llama-server.pid");
    expect(layout.apiKeyFile).toBe("/home/dev/gllm/secrets/api-key");
    expect(layout.installRoot).toBe("/home/dev/gllm/llama.cpp");
  });

  test("a relative work directory is refused: the paths would change with the working directory", () => {
    expect(() => localLayout("gllm")).toThrow(/absolute path, got "gllm"/);
  });
});
