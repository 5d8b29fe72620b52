/**
 * Thrown by a call the warm engine runs when it must run in the client's own process instead: it
 * needs the client's terminal (a person's yes to the owner's policy), which the engine has not.
 * Nothing has reached the server when it is thrown: the engine answers "not run" and bin/vps runs
 * the same call cold, where the person is asked.
 */
final class ColdRun extends RuntimeException {
    /** The status a command line returns for it (never a process's exit status: the engine turns it into a cold run). */
    static final int EXIT = 1075;

    ColdRun(String why) {
        super(why, null, false, false);
    }
}
