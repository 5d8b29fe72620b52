/**
 * What the owner's policy says about one call: ALLOW, CONFIRM (a person must say yes first) or REFUSE,
 * with the rule (FILE:LINE, null when no file decided) and why.
 */
record Decision(Verdict verdict, String rule, String reason) {
    enum Verdict { ALLOW, CONFIRM, REFUSE }

    static final Decision ALLOW = new Decision(Verdict.ALLOW, null, null);

    static Decision confirm(String rule, String reason) {
        return new Decision(Verdict.CONFIRM, rule, reason);
    }

    static Decision refuse(String rule, String reason) {
        return new Decision(Verdict.REFUSE, rule, reason);
    }

    /** The stricter of two decisions (REFUSE over CONFIRM over ALLOW); the first when equal. */
    Decision and(Decision other) {
        return other.verdict.ordinal() > verdict.ordinal() ? other : this;
    }

    /** For the audit log: "allow", "confirm: rule", "refused: rule". */
    String label() {
        return switch (verdict) {
            case ALLOW -> "allow";
            case CONFIRM -> "confirm: " + rule;
            case REFUSE -> "refused: " + rule;
        };
    }
}
