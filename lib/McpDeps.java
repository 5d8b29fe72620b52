// The MCP Java SDK, pinned once, for mcp-server and its tests only: the short CLI scripts do not
// carry it (nor its Jackson and Reactor) on their classpath. Its slf4j logging goes to the
// slf4j-nop of lib/Deps.java, so nothing of it can reach stdout, which belongs to the protocol.
//DEPS io.modelcontextprotocol.sdk:mcp:2.1.0
// Its Jackson 3 needs jackson-annotations 2.21 (JsonSerializeAs); Testcontainers' Jackson 2
// would otherwise win with an older one in the tests' classpath.
//DEPS com.fasterxml.jackson.core:jackson-annotations:2.21
final class McpDeps {
    private McpDeps() {}
}
