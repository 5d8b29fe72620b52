import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one list of setup steps: a POSIX sh script that setup-server runs as root over SSH (one mode at a
 * time) and --print-script prints whole, to paste into a provider's web console. Each step compares the
 * server's fact with the declared state and changes it only when they differ, printing
 * "changed: WHAT -- WHY" (or, in check mode, "to change: WHAT -- WHY" and changing nothing). The keys
 * are data in a quoted heredoc, never part of a command line.
 */
final class SetupScript {
    /** What one run of the script changed, or (check) would change. */
    record Change(String what, String why) {}

    /** Modes: check changes nothing; apply keeps the old port(s) and a copy of sshd's files for rollback; all is the end state. */
    static final String CHECK = "check", APPLY = "apply", ALL = "all", ROLLBACK = "rollback";
    /** A failure the script blames on the request (e.g. --firewall without ufw or nft): its exit status. */
    static final int EXIT_REQUEST = 3;

    private static final Pattern CHANGE_LINE = Pattern.compile("^(?:changed|to change): (.*) -- (.*)$", Pattern.MULTILINE);
    private static final Pattern ERROR_LINE = Pattern.compile("^error: (.*)$", Pattern.MULTILINE);

    private SetupScript() {}

    /** The whole script for PLAN; `sh script [MODE]` runs it (default: all). */
    static String render(SetupPlan plan) {
        return HEADER
                + "user=" + ShellQuote.quote(plan.user()) + "\n"
                + "sudo_mode=" + plan.sudo().word() + "          # nopasswd | password | none\n"
                + "root_login=" + plan.rootLogin() + "   # PermitRootLogin: prohibit-password (keys only) | no\n"
                + "new_port=" + (plan.port() == null ? "''" : plan.port()) + "            # empty: sshd's port(s) stay as they are\n"
                + "firewall=" + (plan.firewall() ? 1 : 0) + "             # 1: ufw, else nftables, lets the SSH port(s) in, then is enabled\n"
                + "keys() {\ncat <<'VPS_TOOLKIT_KEYS'\n" + String.join("\n", plan.keys()) + "\nVPS_TOOLKIT_KEYS\n}\n"
                + STEPS;
    }

    /** The script run in MODE by the /bin/sh that reads it from stdin (`set --` gives it its argument). */
    static String inMode(String script, String mode) {
        return "set -- " + mode + "\n" + script;
    }

    static List<Change> changes(String output) {
        List<Change> all = new ArrayList<>();
        Matcher m = CHANGE_LINE.matcher(output);
        while (m.find()) {
            all.add(new Change(m.group(1), m.group(2)));
        }
        return all;
    }

    /** The reason the script gave for stopping (its last "error:" line), or null. */
    static String error(String stderr) {
        Matcher m = ERROR_LINE.matcher(stderr);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        return last;
    }

    private static final String HEADER = """
            #!/bin/sh
            # vps-toolkit setup-server: brings this server to the state declared below. Run it as root, e.g. in
            # the provider's web console: sh setup.sh (safe to run again; it prints every change it makes).
            # sh setup.sh check: prints what would change and changes nothing.
            # It never turns password login off unless the user's authorized_keys holds the key(s) below,
            # and checks sshd's new settings with sshd -t before sshd reloads them.
            set -u
            mode=${1:-all}
            """;

    private static final String STEPS = """

            dropin=/etc/ssh/sshd_config.d/00-vps-toolkit.conf
            main=/etc/ssh/sshd_config
            saved=/etc/ssh/vps-toolkit-rollback
            begin='# vps-toolkit: begin (setup-server; the first value wins, so these come first)'
            end='# vps-toolkit: end'
            sshd_changed=0

            fail() { echo "error: $*" >&2; exit 1; }
            refuse() { echo "error: $*" >&2; exit 3; }
            # step WHAT WHY COMMAND...: do COMMAND and say so; in check mode only say it would be done.
            step() {
              what=$1 why=$2; shift 2
              if [ "$mode" = check ]; then echo "to change: $what -- $why"; return 0; fi
              "$@" || fail "could not $what"
              echo "changed: $what -- $why"
            }
            sshd_bin() { command -v sshd || echo /usr/sbin/sshd; }
            effective() { "$(sshd_bin)" -T 2>/dev/null | awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }'; }

            case $mode in check|apply|all|rollback) ;; *) refuse "unknown mode $mode: check, apply, all or rollback" ;; esac
            [ "$(id -u)" = 0 ] || refuse "run this as root"
            if [ "$firewall" = 1 ] && ! command -v ufw >/dev/null && ! command -v nft >/dev/null; then
              refuse "--firewall: neither ufw nor nft is installed (apt-get install ufw), or leave --firewall out"
            fi

            # --- sshd's files: a copy before the first change, put back on rollback
            save_sshd_files() {
              [ -d "$saved" ] && return 0
              mkdir -p "$saved" && cp -p "$main" "$saved/sshd_config" || return 1
              if [ -f "$dropin" ]; then cp -p "$dropin" "$saved/dropin"; fi
            }
            restore_sshd_files() {
              cp -p "$saved/sshd_config" "$main" || return 1
              if [ -f "$saved/dropin" ]; then cp -p "$saved/dropin" "$dropin"; else rm -f "$dropin"; fi
            }
            listeners() { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" { split($2, a, ":"); print a[2] ":" $10 }'; }
            # After a reload sshd re-executes itself and listens anew: wait (10 s at most) for a socket that was not there BEFORE.
            await_new_listeners() {
              for port in $(effective port); do
                hex=$(printf '%04X' "$port") n=0
                while [ $n -lt 100 ]; do
                  fresh=$(listeners | grep "^$hex:" | while read -r l; do echo " $1 " | grep -q " $l " || echo "$l"; done)
                  [ -n "$fresh" ] && break
                  sleep 0.1; n=$((n + 1))
                done
                [ -n "$fresh" ] || echo "warning: sshd does not listen on port $port again yet" >&2
              done
            }
            reload_sshd() {
              if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
                if [ -n "$new_port" ] && systemctl is-active --quiet ssh.socket 2>/dev/null; then
                  # socket activation (Ubuntu 22.10 and later): the socket holds the port, from sshd_config via a generator
                  systemctl daemon-reload && systemctl restart ssh.socket || return 1
                fi
                for unit in ssh sshd; do
                  if systemctl is-active --quiet "$unit" 2>/dev/null; then systemctl reload "$unit"; return; fi
                done
                systemctl is-active --quiet ssh.socket 2>/dev/null && return 0
                systemctl restart ssh 2>/dev/null || systemctl restart sshd
                return
              fi
              pid=$(cat /run/sshd.pid 2>/dev/null)
              [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ] || pid=
              [ -n "$pid" ] || [ "$(cat /proc/1/comm 2>/dev/null)" != sshd ] || pid=1
              [ -n "$pid" ] || { echo "error: no running sshd found to reload" >&2; return 1; }
              kill -HUP "$pid"   # sshd re-executes itself; open connections stay
            }
            reload_and_wait() {
              before=$(listeners | tr '\\n' ' ')
              reload_sshd || return 1
              systemctl is-active --quiet ssh.socket 2>/dev/null || await_new_listeners "$before"
            }

            if [ "$mode" = rollback ]; then
              if [ ! -d "$saved" ]; then echo "nothing to roll back: this run left sshd's settings as they were"; exit 0; fi
              restore_sshd_files || fail "could not restore sshd's files from $saved"
              "$(sshd_bin)" -t || fail "sshd -t refuses the restored files in $saved"
              reload_and_wait || fail "could not reload sshd"
              rm -rf "$saved"
              echo "changed: restore sshd's settings from before setup-server -- the new login could not be proven"
              exit 0
            fi

            # --- the login user
            if ! id "$user" >/dev/null 2>&1; then
              shell=/bin/bash; [ -x "$shell" ] || shell=/bin/sh
              step "create user $user" "there is no such user" useradd -m -s "$shell" -p '*' "$user"
            fi
            home=$(getent passwd "$user" | cut -d: -f6); home=${home:-/home/$user}
            group=$(id -gn "$user" 2>/dev/null || echo "$user")
            ak=$home/.ssh/authorized_keys

            # --- its keys: authorized_keys holds each (TYPE BASE64), owned by the user, private modes
            # The keys go through awk's stdin, never an argv: any TYPE BASE64 pair of a line counts (options may come first).
            missing_keys() {
              keys | awk -v ak="$ak" 'BEGIN { while ((getline line < ak) > 0) { n = split(line, f, " "); for (i = 1; i < n; i++) have[f[i] " " f[i + 1]] = 1 } }
                !(($1 " " $2) in have)'
            }
            add_keys() {
              if [ -s "$ak" ] && [ -n "$(tail -c 1 "$ak")" ]; then echo >> "$ak"; fi
              missing_keys > "$ak.vps-new" && cat "$ak.vps-new" >> "$ak" && rm -f "$ak.vps-new"
            }
            [ -d "$home/.ssh" ] || step "create $home/.ssh" "it is missing" mkdir -p "$home/.ssh"
            n=$(missing_keys | wc -l | tr -d ' ')
            [ "$n" -eq 0 ] || step "add $n key(s) to $ak" "they are not there yet" add_keys
            for f in "$home/.ssh:700" "$ak:600"; do
              path=${f%:*} want=${f##*:}
              is=$(stat -c '%a %U:%G' "$path" 2>/dev/null || echo missing)
              [ "$is" = "$want $user:$group" ] || step "set $path to mode $want, owner $user:$group" "it is $is" \\
                sh -c 'chown "$1" "$2" && chmod "$3" "$2"' sh "$user:$group" "$path" "$want"
            done

            # --- sudo: group sudo for nopasswd and password; a sudoers file only for nopasswd
            sudoers=/etc/sudoers.d/vps-toolkit-$user
            nopasswd="$user ALL=(ALL:ALL) NOPASSWD: ALL"
            in_sudo_group() { id -nG "$user" 2>/dev/null | tr ' ' '\\n' | grep -qx sudo; }
            write_sudoers() {
              tmp=$(mktemp /etc/sudoers.d/.vps-toolkit.XXXXXX) || return 1
              printf '%s\\n' "$nopasswd" > "$tmp" && chmod 0440 "$tmp" && visudo -cqf "$tmp" >/dev/null && mv "$tmp" "$sudoers" || { rm -f "$tmp"; return 1; }
            }
            if [ "$sudo_mode" = none ]; then
              ! in_sudo_group || step "remove $user from group sudo" "--sudo none" gpasswd -d "$user" sudo
              [ ! -e "$sudoers" ] || step "remove $sudoers" "--sudo none" rm -f "$sudoers"
            else
              command -v sudo >/dev/null && command -v visudo >/dev/null || refuse "sudo is not installed: apt-get install sudo, then run this again (or --sudo none)"
              in_sudo_group || step "add $user to group sudo" "--sudo $sudo_mode" usermod -aG sudo "$user"
              if [ "$sudo_mode" = nopasswd ]; then
                [ "$(cat "$sudoers" 2>/dev/null)" = "$nopasswd" ] && [ "$(stat -c %a "$sudoers")" = 440 ] \\
                  || step "write $sudoers" "--sudo nopasswd: sudo without a password" write_sudoers
              else
                [ ! -e "$sudoers" ] || step "remove $sudoers" "--sudo password: sudo asks for $user's password" rm -f "$sudoers"
                case $(getent shadow "$user" | cut -d: -f2) in
                  ''|'*'|'!'*) echo "note: $user has no password yet and sudo will ask for one: passwd $user" ;;
                esac
              fi
            fi

            # --- the key must be in place before password login goes off
            if [ "$mode" != check ] && [ -n "$(missing_keys)" ]; then
              fail "$ak does not hold every key: password login stays on"
            fi

            # --- sshd: a drop-in read first (the first value wins), or a marked block at the top of the main file
            old_ports=$(effective port)
            [ -n "$old_ports" ] || old_ports=22
            settings() {
              echo "PubkeyAuthentication yes"
              echo "PasswordAuthentication no"
              echo "KbdInteractiveAuthentication no"
              echo "PermitRootLogin $root_login"
              [ -n "$new_port" ] || return 0
              if [ "$mode" = apply ] || [ "$mode" = check ]; then   # the old port(s) stay until the new login is proven
                for p in $old_ports; do [ "$p" = "$new_port" ] || echo "Port $p"; done
              fi
              echo "Port $new_port"
            }
            first_directive=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$main" | head -n 1 | tr -s ' \\t' '  ')
            case $first_directive in
              "Include /etc/ssh/sshd_config.d/*.conf"|"Include sshd_config.d/*.conf") where=dropin ;;
              *) where=main ;;
            esac
            without_block() { awk -v b="$begin" -v e="$end" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$main"; }
            block() { awk -v b="$begin" -v e="$end" '$0 == b { keep = 1 } keep { print } $0 == e { keep = 0 }' "$main"; }
            write_dropin() {
              { echo "# Written by vps-toolkit setup-server: read before every other setting (the first value wins)."; settings; } > "$dropin.vps-new" \\
                && chmod 644 "$dropin.vps-new" && mv "$dropin.vps-new" "$dropin"
            }
            write_block() {
              { echo "$begin"; settings; echo "$end"; without_block; } > "$main.vps-new" && chmod 644 "$main.vps-new" && mv "$main.vps-new" "$main"
            }
            remove_block() { without_block > "$main.vps-new" && chmod 644 "$main.vps-new" && mv "$main.vps-new" "$main"; }
            comment_ports() {   # Port lines outside our settings would add ports of their own
              awk -v b="$begin" -v e="$end" '$0 == b { in_b = 1 } !in_b && /^[[:space:]]*[Pp][Oo][Rr][Tt][[:space:]]/ { $0 = "#vps-toolkit: " $0 } { print } $0 == e { in_b = 0 }' \\
                "$main" > "$main.vps-new" && chmod 644 "$main.vps-new" && mv "$main.vps-new" "$main"
            }
            change_sshd() { save_sshd_files && "$@" && sshd_changed=1; }
            if [ "$where" = dropin ]; then
              [ "$(cat "$dropin" 2>/dev/null | tail -n +2)" = "$(settings)" ] \\
                || step "write $dropin" "sshd: keys only, PermitRootLogin $root_login${new_port:+, port $new_port}" change_sshd write_dropin
              [ -z "$(block)" ] || step "remove the vps-toolkit block of $main" "the drop-in holds the settings" \\
                change_sshd remove_block
            else
              [ "$(block)" = "$(echo "$begin"; settings; echo "$end")" ] \\
                || step "write the vps-toolkit block at the top of $main" "this sshd_config reads no sshd_config.d/ first: keys only, PermitRootLogin $root_login${new_port:+, port $new_port}" change_sshd write_block
            fi
            if [ -n "$new_port" ] && without_block | grep -q '^[[:space:]]*[Pp][Oo][Rr][Tt][[:space:]]'; then
              step "comment out the Port lines of $main" "port $new_port replaces them" change_sshd comment_ports
            fi
            if [ "$sshd_changed" = 1 ]; then
              if ! problem=$("$(sshd_bin)" -t 2>&1); then
                restore_sshd_files; rm -rf "$saved"
                fail "sshd -t refused the new settings, so they were taken back: $problem"
              fi
              for kv in "passwordauthentication no" "kbdinteractiveauthentication no" "permitrootlogin $root_login"; do
                is=$(effective "${kv%% *}")
                [ "$is" = "${kv#* }" ] || { [ "$is" = without-password ] && [ "${kv#* }" = prohibit-password ]; } || {
                  restore_sshd_files; rm -rf "$saved"
                  fail "sshd would still use ${kv%% *} $is (another setting wins), so the change was taken back"
                }
              done
            fi

            # --- firewall: the SSH port(s) allowed first, then enabled
            fw_ports=$( [ -n "$new_port" ] && settings | awk '$1 == "Port" { print $2 }' || echo "$old_ports")
            if [ "$firewall" = 1 ]; then
              if command -v ufw >/dev/null; then
                for p in $fw_ports; do
                  ufw status | grep -q "^$p/tcp .*ALLOW" || step "allow $p/tcp in ufw" "--firewall: SSH comes in on it" ufw allow "$p/tcp"
                done
                for p in $old_ports; do
                  echo " $fw_ports " | grep -q " $p " || ! ufw status | grep -q "^$p/tcp .*ALLOW" \\
                    || step "remove $p/tcp from ufw" "port $new_port replaced it" ufw delete allow "$p/tcp"
                done
                ufw status | grep -q '^Status: active' || step "enable ufw" "--firewall" ufw --force enable
              elif command -v nft >/dev/null; then
                rules="table inet vps_toolkit {
              chain input {
                type filter hook input priority 0; policy drop;
                ct state established,related accept
                iif lo accept
                meta l4proto { icmp, ipv6-icmp } accept
                tcp dport { $(echo $fw_ports | tr ' ' ',') } accept
              }
            }"
                write_nft() {
                  printf '%s\\n' "$rules" > /etc/nftables.vps-toolkit.nft && nft -c -f /etc/nftables.vps-toolkit.nft || return 1
                  { nft list table inet vps_toolkit >/dev/null 2>&1 && nft delete table inet vps_toolkit; nft -f /etc/nftables.vps-toolkit.nft; } || return 1
                  if [ -f /etc/nftables.conf ] && ! grep -qF 'include "/etc/nftables.vps-toolkit.nft"' /etc/nftables.conf; then
                    echo 'include "/etc/nftables.vps-toolkit.nft"' >> /etc/nftables.conf
                  fi
                  ! command -v systemctl >/dev/null || systemctl enable nftables >/dev/null 2>&1 || true
                }
                [ "$(cat /etc/nftables.vps-toolkit.nft 2>/dev/null)" = "$rules" ] && nft list table inet vps_toolkit >/dev/null 2>&1 \\
                  || step "load nftables table vps_toolkit (SSH on $(echo $fw_ports), all else in dropped)" "--firewall" write_nft
              fi
            fi

            # --- sshd reads its new settings; open connections stay
            if [ "$sshd_changed" = 1 ]; then
              reload_and_wait || fail "could not reload sshd"
              echo "sshd reloaded: $(effective port | tr '\\n' ' ')"
            fi
            if [ "$mode" = all ]; then rm -rf "$saved"; fi
            if [ "$mode" = check ]; then echo "checked: $user, sudo $sudo_mode, PermitRootLogin $root_login"; else echo "done: $user, sudo $sudo_mode, PermitRootLogin $root_login"; fi
            """;
}
