import java.util.List;

/**
 * One call a policy judges: what kind, the shell command lines it runs on the server (none for a transfer),
 * whether it runs them as another user (--sudo/--su), and how a person asked to confirm sees it.
 */
record PolicyAction(Kind kind, List<String> commands, boolean privileged, String shown) {
    enum Kind {
        EXEC, JOB_START, SESSION_OPEN, SESSION_SEND, UPLOAD, DOWNLOAD, SETUP, TUNNEL_START;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
        }
    }

    static PolicyAction exec(List<String> commands, boolean privileged) {
        return exec(commands, privileged, List.of());
    }

    /**
     * COMMANDS run with the variables ENV_NAMES set (--env): judged as if each line began with NAME=
     * (the names decide: PATH=, LD_PRELOAD= change what runs; values are never shown).
     */
    static PolicyAction exec(List<String> commands, boolean privileged, java.util.Collection<String> envNames) {
        String prefix = envNames.stream().map(name -> name + "= ").collect(java.util.stream.Collectors.joining());
        return new PolicyAction(Kind.EXEC, commands.stream().map(c -> prefix + c).toList(), privileged, String.join("; ", commands));
    }

    static PolicyAction of(Kind kind, List<String> commands, boolean privileged, String shown) {
        return new PolicyAction(kind, List.copyOf(commands), privileged, shown);
    }

    static PolicyAction transfer(Kind kind, String shown) {
        return new PolicyAction(kind, List.of(), false, shown);
    }

    /** Whether it can change the server whatever its commands are (a tunnel reads and writes through the server's ports). */
    boolean changes() {
        return privileged || kind == Kind.UPLOAD || kind == Kind.JOB_START || kind == Kind.SESSION_OPEN || kind == Kind.SESSION_SEND
                || kind == Kind.SETUP || kind == Kind.TUNNEL_START;
    }
}
