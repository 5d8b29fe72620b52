import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** Tests against the shared OpenSSH container, each run with a fresh private environment. */
abstract class VpsTestBase {
    static VpsServer vps;

    @BeforeAll
    static void server() {
        vps = VpsServer.shared();
    }

    @BeforeEach
    void freshEnvironment() {
        TestSupport.freshEnvironment();
    }
}
