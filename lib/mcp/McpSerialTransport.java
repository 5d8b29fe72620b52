import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpServerSession;
import io.modelcontextprotocol.spec.McpServerTransport;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Mono;

/**
 * The SDK's stdio transport, made robust. Messages go out one at a time: the SDK's outbound sink
 * gives up on a message after busy-looping 100 ms when many tool results finish at once, and a
 * lost response leaves the client waiting for ever; here each emission holds a lock instead. And
 * every line that comes in is checked before the SDK reads it ({@link CheckedLines}).
 */
final class McpSerialTransport implements McpServerTransportProvider {
    private final McpServerTransportProvider delegate;

    McpSerialTransport(McpServerTransportProvider delegate) {
        this.delegate = delegate;
    }

    /** The transport over IN and OUT, newline-delimited JSON-RPC (the stdio transport of MCP). */
    static McpSerialTransport stdio(InputStream in, OutputStream out) {
        McpJsonMapper mapper = McpJsonDefaults.getMapper();
        return new McpSerialTransport(new StdioServerTransportProvider(mapper, new CheckedLines(in, out, mapper), out));
    }

    @Override
    public void setSessionFactory(McpServerSession.Factory factory) {
        delegate.setSessionFactory(transport -> factory.create(new Serial(transport)));
    }

    @Override
    public Mono<Void> notifyClients(String method, Object params) {
        return delegate.notifyClients(method, params);
    }

    @Override
    public Mono<Void> notifyClient(String sessionId, String method, Object params) {
        return delegate.notifyClient(sessionId, method, params);   // resource subscriptions' updates go to one session
    }

    @Override
    public Mono<Void> closeGracefully() {
        return delegate.closeGracefully();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public List<String> protocolVersions() {
        return delegate.protocolVersions();
    }

    private record Serial(McpServerTransport transport) implements McpServerTransport {
        @Override
        public Mono<Void> sendMessage(McpSchema.JSONRPCMessage message) {
            // Once the session is up the delegate emits while being subscribed, so within the lock.
            return Mono.create(done -> {
                synchronized (this) {
                    transport.sendMessage(message).subscribe(nothing -> { }, done::error, done::success);
                }
            });
        }

        @Override
        public <T> T unmarshalFrom(Object data, TypeRef<T> type) {
            return transport.unmarshalFrom(data, type);
        }

        @Override
        public Mono<Void> closeGracefully() {
            return transport.closeGracefully();
        }

        @Override
        public void close() {
            transport.close();
        }

        @Override
        public List<String> protocolVersions() {
            return transport.protocolVersions();
        }
    }

    /**
     * The client's lines, each checked as the SDK will read it. The SDK's reader stops for good at
     * a line that is no JSON-RPC message (and so never sees stdin close); such a line is answered
     * here as JSON-RPC 2.0 says (-32700 parse error, -32600 invalid request) and never reaches it.
     * Blank lines are skipped; a line longer than the SDK's limit is refused like an invalid one.
     */
    static final class CheckedLines extends InputStream {
        /** The SDK's own limit (16 Mi characters); a line of at most that many bytes never exceeds it. */
        static final int MAX_LINE = 16 * 1024 * 1024;

        private final InputStream in;
        private final OutputStream out;
        private final McpJsonMapper mapper;
        private byte[] line = new byte[0];
        private int pos;
        private final byte[] buf = new byte[64 * 1024];
        private int bufPos;
        private int bufLen;
        private boolean afterCr;

        CheckedLines(InputStream in, OutputStream out, McpJsonMapper mapper) {
            this.in = in;
            this.out = out;
            this.mapper = mapper;
        }

        @Override
        public int read() throws IOException {
            return pos < line.length || nextMessage() ? line[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (pos == line.length && !nextMessage()) {
                return -1;
            }
            int n = Math.min(len, line.length - pos);
            System.arraycopy(line, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }

        /** Reads lines until one is a JSON-RPC message, which becomes the next to hand out; false at the end of input. */
        private boolean nextMessage() throws IOException {
            while (true) {
                ByteArrayOutputStream raw = new ByteArrayOutputStream();
                boolean tooLong = false;
                boolean ended = false;
                while (!ended && (bufPos < bufLen || fill())) {
                    if (afterCr && buf[bufPos] == '\n') {
                        bufPos++;   // the LF of a CRLF
                    }
                    afterCr = false;
                    int start = bufPos;
                    while (bufPos < bufLen && buf[bufPos] != '\n' && buf[bufPos] != '\r') {
                        bufPos++;
                    }
                    int kept = Math.min(bufPos - start, MAX_LINE - raw.size());
                    raw.write(buf, start, kept);
                    tooLong |= kept < bufPos - start;
                    if (bufPos < bufLen) {
                        afterCr = buf[bufPos++] == '\r';
                        ended = true;
                    }
                }
                if (!ended && raw.size() == 0) {
                    return false;
                }
                String text = raw.toString(StandardCharsets.UTF_8);
                Map<String, Object> error = tooLong ? error(null, -32600, "Invalid Request: a message longer than " + MAX_LINE + " bytes")
                        : text.isBlank() ? null : check(text);
                if (error != null) {
                    answer(error);
                } else if (!text.isBlank()) {
                    String routed = routed(text);
                    if (routed != null) {
                        line = (routed + "\n").getBytes(StandardCharsets.UTF_8);
                        pos = 0;
                        return true;
                    }
                }
            }
        }

        /**
         * A valid message as the SDK gets it: a tools/call carries its own JSON-RPC id in its _meta
         * (the SDK hands a tool only its params), so that notifications/cancelled can name the call;
         * that notification is acted on here ({@link McpCalls#cancel}) and goes no further (null).
         * resources/subscribe and unsubscribe go on to the SDK, and tell {@link McpResources} what to poll.
         */
        private String routed(String text) throws IOException {
            if (!text.contains("tools/call") && !text.contains("notifications/cancelled") && !text.contains("resources/")) {
                return text;
            }
            Map<String, Object> message = mapper.readValue(text, new TypeRef<Map<String, Object>>() { });
            Object params = message.get("params");
            Object uri = params instanceof Map<?, ?> p ? p.get("uri") : null;
            if ("resources/subscribe".equals(message.get("method"))) {
                McpResources.subscribed(uri instanceof String u ? u : null);   // the SDK answers it and keeps who subscribed
            } else if ("resources/unsubscribe".equals(message.get("method"))) {
                McpResources.unsubscribed(uri instanceof String u ? u : null);
            }
            if ("notifications/cancelled".equals(message.get("method"))) {
                if (params instanceof Map<?, ?> p) {
                    McpCalls.cancel(p.get("requestId"), p.get("reason") instanceof String r ? r : null);
                }
                return null;
            }
            if (!"tools/call".equals(message.get("method")) || message.get("id") == null || !(params instanceof Map<?, ?>)) {
                return text;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> p = (Map<String, Object>) params;
            Map<String, Object> meta = p.get("_meta") instanceof Map<?, ?> m ? new LinkedHashMap<>((Map<String, Object>) m) : new LinkedHashMap<>();
            meta.put(McpCalls.REQUEST_ID_META, message.get("id"));
            p.put("_meta", meta);
            return mapper.writeValueAsString(message);
        }

        /** Reads more of the input into the buffer; false at its end. */
        private boolean fill() throws IOException {
            int n = in.read(buf);
            bufPos = 0;
            bufLen = Math.max(n, 0);
            return n > 0;   // a read into a non-empty buffer blocks until it has a byte or the end
        }

        /** The error answer for TEXT, or null when the SDK will take it as a message. */
        private Map<String, Object> check(String text) {
            try {
                McpSchema.deserializeJsonRpcMessage(mapper, text);
                return null;
            } catch (Exception notAMessage) {
                Object json;
                try {
                    json = mapper.readValue(text, Object.class);
                } catch (Exception notJson) {
                    return error(null, -32700, "Parse error");
                }
                Object id = json instanceof Map<?, ?> m && (m.get("id") instanceof String || m.get("id") instanceof Number) ? m.get("id") : null;
                return error(id, -32600, "Invalid Request");
            }
        }

        private static Map<String, Object> error(Object id, int code, String message) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("jsonrpc", "2.0");
            r.put("id", id);
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("code", code);
            error.put("message", message);
            r.put("error", error);
            return r;
        }

        /** Writes the answer as one line; the SDK writes its own lines holding the same stream's lock. */
        private void answer(Map<String, Object> error) throws IOException {
            byte[] bytes = (Json.write(error) + "\n").getBytes(StandardCharsets.UTF_8);
            synchronized (out) {
                out.write(bytes);
                out.flush();
            }
        }
    }
}
