import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * A YAML file the owner wrote (an inventory, a policy), composed into nodes that keep their lines,
 * so that whatever the toolkit refuses in it is named FILE:LINE.
 */
final class YamlDocument {
    /** Makes the error for a LINE (1-based) of the file and what is wrong there. */
    interface Error {
        RuntimeException at(int line, String what);
    }

    private YamlDocument() {}

    /** TEXT's root node (null for an empty document); text that is not YAML is ERROR at the line the parser names. */
    static Node compose(String text, String label, Error error) {
        LoadSettings settings = LoadSettings.builder().setLabel(label).setSchema(new CoreSchema()).build();
        try {
            return new Compose(settings).composeString(text).orElse(null);
        } catch (MarkedYamlEngineException e) {
            Mark mark = e.getProblemMark().or(e::getContextMark).orElse(null);
            throw error.at(mark == null ? 1 : mark.getLine() + 1, "not valid YAML: " + e.getProblem());
        } catch (YamlEngineException e) {
            throw error.at(1, "not valid YAML: " + VpsException.plain(e.getMessage()));
        }
    }
}
