// The MCP Java SDK, pinned once, for mcp-server and its tests only: the short CLI scripts do not
// carry it (nor its Jackson and Reactor) on their classpath. Its slf4j logging goes to the
// slf4j-nop of lib/Deps.java, so nothing of it can reach stdout, which belongs to the protocol.
//DEPS io.modelcontextprotocol.sdk:mcp:2.1.0
// Its Jackson 3 (databind 3.1.4) needs the jackson-annotations 2.x release its BOM names (2.21 has
// JsonSerializeAs): the BOM holds it there whatever else on a classpath asks for (Testcontainers'
// Jackson 2 in the tests').
//DEPS tools.jackson:jackson-bom:3.1.4@pom
final class McpDeps {
    private McpDeps() {}
}
