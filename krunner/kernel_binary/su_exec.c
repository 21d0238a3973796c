/*
 * SPDX-License-Identifier: MIT
 * (the text is su_exec.LICENSE beside this file)
 *
 * su-exec: switch user and group, then exec a program (no PTY, no PAM, no fork).
 *
 *   su-exec USER[:GROUP[,GROUP...]] PROGRAM [ARG...]
 *
 * Written here from the behaviour the Backend.AI agent's entrypoint relies on
 * (`su-exec "$UID:$GID,<more gids>,42" "$@"`), with the command line of the
 * classic one-file su-exec:
 *
 * - USER is a user name or a numeric uid. HOME becomes the passwd entry's home
 *   directory, or "/" when the uid has none.
 * - Without GROUP, the primary group is the passwd entry's (the uid itself when
 *   there is none) and the supplementary groups are the user's groups from
 *   /etc/group (getgrouplist), or the primary group alone.
 * - With GROUP[,GROUP...] (names or numeric gids), the first is the primary
 *   group and all of them, in that order, are the supplementary groups.
 *
 * The supplementary group list is always replaced before the uid changes, so
 * the caller's groups (root's, typically) never survive. A malformed spec
 * (empty user or group, empty list item, trailing comma, a number out of range
 * or with a sign, an unknown name) stops before any id is changed, with one
 * line naming the spec and the form expected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_GROUPS 65536

static const char *spec_arg;

static void usage(void) {
    fprintf(stderr,
            "Usage: su-exec USER[:GROUP[,GROUP...]] PROGRAM [ARG...]\n"
            "Run PROGRAM as USER (name or uid) with GROUP (name or gid) as its primary\n"
            "group and every GROUP listed as its supplementary groups.\n");
    exit(1);
}

static void die_spec(const char *why) {
    fprintf(stderr,
            "su-exec: invalid user spec '%s': %s; expected USER[:GROUP[,GROUP...]], "
            "each a name or a decimal id (for example 1000:1000,1002,42)\n",
            spec_arg, why);
    exit(1);
}

static void die_errno(const char *what, const char *detail) {
    fprintf(stderr, "su-exec: %s %s: %s\n", what, detail, strerror(errno));
    exit(1);
}

/* A decimal id with digits only (no sign, no blanks), below 2^32 - 1. */
static int parse_id(const char *s, unsigned long *out) {
    unsigned long long v = 0;
    if (*s == '\0')
        return 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long long)(*p - '0');
        if (v >= 0xffffffffULL) /* (uid_t)-1 means "unchanged" to the kernel */
            return -1;
    }
    *out = (unsigned long)v;
    return 1;
}

static gid_t group_id(const char *name) {
    unsigned long id;
    int numeric = parse_id(name, &id);
    if (numeric > 0)
        return (gid_t)id;
    if (numeric < 0)
        die_spec("a gid is out of range");
    if (*name >= '0' && *name <= '9')
        die_spec("a gid is not a decimal number");
    errno = 0;
    struct group *gr = getgrnam(name);
    if (gr == NULL) {
        if (errno != 0)
            die_errno("cannot look up group", name);
        fprintf(stderr, "su-exec: invalid user spec '%s': no group named '%s' in /etc/group\n",
                spec_arg, name);
        exit(1);
    }
    return gr->gr_gid;
}

/* Parses "GROUP[,GROUP...]" in place into groups[]; returns how many. */
static size_t parse_groups(char *list, gid_t *groups) {
    size_t n = 0;
    char *item = list;
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma != NULL)
            *comma = '\0';
        if (*item == '\0')
            die_spec("the group list has an empty item");
        if (n == MAX_GROUPS)
            die_spec("the group list is too long");
        groups[n++] = group_id(item);
        if (comma == NULL)
            return n;
        item = comma + 1;
    }
}

int main(int argc, char *argv[]) {
    if (argc < 3)
        usage();
    spec_arg = argv[1];

    char *spec = strdup(argv[1]);
    if (spec == NULL)
        die_errno("out of memory for", "the user spec");
    char *group_list = strchr(spec, ':');
    if (group_list != NULL) {
        *group_list++ = '\0';
        if (*group_list == '\0')
            die_spec("the group after ':' is empty");
    }
    const char *user = spec;
    if (*user == '\0')
        die_spec("the user is empty");

    unsigned long id;
    struct passwd *pw;
    uid_t uid;
    int numeric = parse_id(user, &id);
    if (numeric < 0)
        die_spec("the uid is out of range");
    if (numeric > 0) {
        uid = (uid_t)id;
        pw = getpwuid(uid);
    } else {
        if (*user >= '0' && *user <= '9')
            die_spec("the uid is not a decimal number");
        errno = 0;
        pw = getpwnam(user);
        if (pw == NULL) {
            if (errno != 0)
                die_errno("cannot look up user", user);
            fprintf(stderr, "su-exec: invalid user spec '%s': no user named '%s' in /etc/passwd\n",
                    spec_arg, user);
            exit(1);
        }
        uid = pw->pw_uid;
    }

    static gid_t groups[MAX_GROUPS];
    size_t ngroups;
    gid_t gid;
    if (group_list != NULL) {
        ngroups = parse_groups(group_list, groups);
        gid = groups[0];
    } else if (pw != NULL) {
        gid = pw->pw_gid;
        int n = MAX_GROUPS;
        if (getgrouplist(pw->pw_name, gid, groups, &n) < 0) {
            fprintf(stderr, "su-exec: user '%s' is in more than %d groups\n", pw->pw_name,
                    MAX_GROUPS);
            exit(1);
        }
        ngroups = (size_t)n;
    } else {
        gid = (gid_t)uid;
        groups[0] = gid;
        ngroups = 1;
    }

    if (setenv("HOME", pw != NULL ? pw->pw_dir : "/", 1) < 0)
        die_errno("cannot set", "HOME");
    /* Groups first: once the uid is not 0, setgroups would fail and root's stay. */
    if (setgroups(ngroups, groups) < 0)
        die_errno("cannot set the supplementary groups for", spec_arg);
    if (setgid(gid) < 0)
        die_errno("cannot set the gid for", spec_arg);
    if (setuid(uid) < 0)
        die_errno("cannot set the uid for", spec_arg);

    execvp(argv[2], argv + 2);
    die_errno("cannot run", argv[2]);
}
