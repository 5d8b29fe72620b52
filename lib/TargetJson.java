import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A resolved {@link Target} as JSON, to hand it to the connection holder over a pipe (never argv
 * or a file: it may carry the key passphrase or the password).
 */
final class TargetJson {
    private static final Gson GSON = new GsonBuilder()
            .serializeNulls()
            .registerTypeHierarchyAdapter(Path.class, new Text<>(Path::toString, Path::of))
            .registerTypeAdapter(Duration.class, new Text<>(Duration::toString, Duration::parse))
            .create();

    private TargetJson() {}

    static String write(Target target) {
        return GSON.toJson(target);
    }

    static Target read(String json) {
        return GSON.fromJson(json, Target.class);
    }

    private static final class Text<T> extends TypeAdapter<T> {
        private final java.util.function.Function<T, String> format;
        private final java.util.function.Function<String, T> parse;

        Text(java.util.function.Function<T, String> format, java.util.function.Function<String, T> parse) {
            this.format = format;
            this.parse = parse;
        }

        @Override
        public void write(JsonWriter out, T value) throws IOException {
            if (value == null) {
                out.nullValue();
            } else {
                out.value(format.apply(value));
            }
        }

        @Override
        public T read(JsonReader in) throws IOException {
            if (in.peek() == com.google.gson.stream.JsonToken.NULL) {
                in.nextNull();
                return null;
            }
            return parse.apply(in.nextString());
        }
    }
}
