/* Output files (iommusim/outfile.h): whole or nothing for regular files,
 * links kept, devices and FIFOs written through with their errors
 * reported, "-" as stdout, and the same-file test outputs are refused by. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include "ims_check.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iommusim/outfile.h"
#include "util.h"

static char err[512];

/* Files in the scratch directory whose name contains `part`. */
static int count_named(const char *part)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tu_path("x"));
    *strrchr(dir, '/') = '\0';
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

static void write_str(struct ims_outfile *o, const char *s)
{
    fputs(s, ims_outfile_stream(o));
}

/* A new path: nothing at the path until commit (only the temporary file),
 * then exactly what was written. */
START_TEST(new_file_whole_on_commit)
{
    const char *p = tu_path("new.json");
    struct ims_outfile *o = ims_outfile_open(p, err, sizeof err);
    ck_assert_msg(o != NULL, "%s", err);
    ck_assert_int_eq(ims_outfile_kind(o), IMS_OUTFILE_RENAME);
    write_str(o, "{}\n");
    ck_assert(!tu_exists(p));
    ck_assert_int_eq(count_named("new.json.tmp."), 1);
    ck_assert_msg(ims_outfile_commit(o, err, sizeof err) == 0, "%s", err);
    size_t n;
    char *got = tu_read_file(p, &n);
    ck_assert_str_eq(got, "{}\n");
    free(got);
    ck_assert_int_eq(count_named(".tmp."), 0);
}
END_TEST

/* Abort leaves the old file as it was and no temporary file. */
START_TEST(abort_keeps_old)
{
    const char *p = tu_path("old.txt");
    ck_assert_int_eq(tu_write_file(p, "old\n", 4), 0);
    struct ims_outfile *o = ims_outfile_open(p, err, sizeof err);
    ck_assert_msg(o != NULL, "%s", err);
    write_str(o, "new\n");
    ims_outfile_abort(o);
    size_t n;
    char *got = tu_read_file(p, &n);
    ck_assert_str_eq(got, "old\n");
    free(got);
    ck_assert_int_eq(count_named(".tmp."), 0);
}
END_TEST

/* A replaced file keeps its permission bits. */
START_TEST(replace_keeps_mode)
{
    const char *p = tu_path("mode.txt");
    ck_assert_int_eq(tu_write_file(p, "x", 1), 0);
    ck_assert_int_eq(chmod(p, 0640), 0);
    ck_assert_int_eq(ims_outfile_write_all(p, "y", 1, err, sizeof err), 0);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
}
END_TEST

/* A link is followed: the link stays, its target gets the bytes. */
START_TEST(symlink_kept)
{
    const char *t = tu_path("target.txt");
    ck_assert_int_eq(tu_write_file(t, "old", 3), 0);
    char link[4096];
    snprintf(link, sizeof link, "%s", tu_path("link.txt"));
    ck_assert_int_eq(symlink("target.txt", link), 0);
    ck_assert_msg(ims_outfile_write_all(link, "new", 3, err, sizeof err) == 0, "%s", err);
    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    size_t n;
    char *got = tu_read_file(t, &n);
    ck_assert_str_eq(got, "new");
    free(got);
}
END_TEST

/* A FIFO is written through and stays a FIFO. */
START_TEST(fifo_written_through)
{
    const char *p = tu_path("f");
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    int rd = open(p, O_RDONLY | O_NONBLOCK); /* a reader, so the writer does not block */
    ck_assert_int_ge(rd, 0);
    struct ims_outfile *o = ims_outfile_open(p, err, sizeof err);
    ck_assert_msg(o != NULL, "%s", err);
    ck_assert_int_eq(ims_outfile_kind(o), IMS_OUTFILE_THROUGH);
    write_str(o, "through");
    ck_assert_msg(ims_outfile_commit(o, err, sizeof err) == 0, "%s", err);
    char buf[16] = {0};
    ck_assert_int_eq(read(rd, buf, sizeof buf - 1), 7);
    ck_assert_str_eq(buf, "through");
    close(rd);
    struct stat st;
    ck_assert_int_eq(lstat(p, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
}
END_TEST

/* A full device: written through, ENOSPC reported, still a device. A private
 * node with /dev/full's numbers where mknod is allowed (root), so that a
 * regression cannot replace the real one. */
START_TEST(full_device_error)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", tu_path("full"));
    if (mknod(p, S_IFCHR | 0666, makedev(1, 7)) != 0)
        snprintf(p, sizeof p, "/dev/full");
    struct ims_outfile *o = ims_outfile_open(p, err, sizeof err);
    ck_assert_msg(o != NULL, "%s", err);
    ck_assert_int_eq(ims_outfile_kind(o), IMS_OUTFILE_THROUGH);
    write_str(o, "lost");
    ck_assert_int_eq(ims_outfile_commit(o, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "write error: No space left on device") && strstr(err, p), "got: %s", err);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
}
END_TEST

/* "-" is standard output; a directory is refused, naming it. */
START_TEST(stdout_and_directory)
{
    struct ims_outfile *o = ims_outfile_open("-", err, sizeof err);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(ims_outfile_kind(o), IMS_OUTFILE_STDOUT);
    ck_assert(ims_outfile_stream(o) == stdout);
    ck_assert_int_eq(ims_outfile_commit(o, err, sizeof err), 0);
    ck_assert_ptr_null(ims_outfile_open("/tmp", err, sizeof err));
    ck_assert_str_eq(err, "/tmp: is a directory");
}
END_TEST

/* Same file: by inode when both exist (through links), by resolved path
 * when not; "-" only equals "-". */
START_TEST(same_file)
{
    const char *a = tu_path("a.itr");
    ck_assert_int_eq(tu_write_file(a, "a", 1), 0);
    char l[4096], b[4096], dotted[4096];
    snprintf(l, sizeof l, "%s", tu_path("l.itr"));
    ck_assert_int_eq(symlink("a.itr", l), 0);
    snprintf(b, sizeof b, "%s", tu_path("b.itr"));
    ck_assert(ims_outfile_same(a, a));
    ck_assert(ims_outfile_same(a, l));
    ck_assert(!ims_outfile_same(a, b)); /* b does not exist */
    snprintf(dotted, sizeof dotted, "%s", b);
    char *slash = strrchr(dotted, '/');
    snprintf(slash, sizeof dotted - (size_t)(slash - dotted), "/./b.itr");
    ck_assert(ims_outfile_same(b, dotted));
    ck_assert(ims_outfile_same("-", "-"));
    ck_assert(!ims_outfile_same("-", a));
    ck_assert(ims_outfile_is_chardev("/dev/null"));
    ck_assert(!ims_outfile_is_chardev(a));
    ck_assert(!ims_outfile_is_chardev("-"));
}
END_TEST

/* Special files other than devices and FIFOs (here a socket) are refused,
 * naming the path, and stay what they were. */
START_TEST(socket_refused)
{
    const char *p = tu_path("sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(p), sizeof sa.sun_path);
    strcpy(sa.sun_path, p);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_ptr_null(ims_outfile_open(p, err, sizeof err));
    ck_assert_msg(strstr(err, p) && strstr(err, "refusing to replace it"), "got: %s", err);
    ck_assert_int_eq(ims_outfile_write_all(p, "x", 1, err, sizeof err), -1);
    struct stat st;
    ck_assert_int_eq(lstat(p, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(count_named(".tmp."), 0);
    close(s);
}
END_TEST

/* A hard link is the same file as its other name (same inode), though the
 * paths differ. */
START_TEST(same_file_hard_link)
{
    const char *a = tu_path("h.itr");
    ck_assert_int_eq(tu_write_file(a, "a", 1), 0);
    char h[4096];
    snprintf(h, sizeof h, "%s", tu_path("h2.itr"));
    ck_assert_int_eq(link(a, h), 0);
    ck_assert(ims_outfile_same(a, h));
    ck_assert(ims_outfile_same(h, a));
}
END_TEST

/* A commit whose rename fails (a directory appeared at the path meanwhile)
 * reports it, naming the path, and leaves no temporary file; the directory
 * is untouched. */
START_TEST(failed_commit_removes_temp)
{
    const char *p = tu_path("late.json");
    struct ims_outfile *o = ims_outfile_open(p, err, sizeof err);
    ck_assert_msg(o != NULL, "%s", err);
    ck_assert_int_eq(ims_outfile_kind(o), IMS_OUTFILE_RENAME);
    write_str(o, "{}\n");
    ck_assert_int_eq(count_named("late.json.tmp."), 1);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    ck_assert_int_eq(ims_outfile_commit(o, err, sizeof err), -1);
    ck_assert_msg(strstr(err, p) && strstr(err, "cannot rename the temporary file into place"), "got: %s", err);
    ck_assert_int_eq(count_named(".tmp."), 0);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(rmdir(p), 0);
}
END_TEST

/* A signal ignored when the first output is opened (as under nohup) stays
 * ignored: the process goes on and its temporary file stays until it is
 * aborted. One the process does not ignore removes the temporary file and
 * ends the process by that signal. Each in a child process. */
START_TEST(ignored_signal_stays_ignored)
{
    const int ignore = _i;
    const char *p = tu_path(ignore ? "ign.json" : "term.json");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGTERM, ignore ? SIG_IGN : SIG_DFL); /* not the test runner's own handler */
        char e[512];
        struct ims_outfile *o = ims_outfile_open(p, e, sizeof e);
        if (!o)
            _exit(10);
        raise(SIGTERM);
        if (count_named(ignore ? "ign.json.tmp." : "term.json.tmp.") != 1)
            _exit(11);
        ims_outfile_abort(o);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (ignore) {
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
    } else {
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status 0x%x", status);
    }
    ck_assert_int_eq(count_named(".tmp."), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outfile");
    TCase *tc = tcase_create("outfile");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, new_file_whole_on_commit);
    tcase_add_test(tc, abort_keeps_old);
    tcase_add_test(tc, replace_keeps_mode);
    tcase_add_test(tc, symlink_kept);
    tcase_add_test(tc, fifo_written_through);
    tcase_add_test(tc, full_device_error);
    tcase_add_test(tc, stdout_and_directory);
    tcase_add_test(tc, same_file);
    tcase_add_test(tc, socket_refused);
    tcase_add_test(tc, same_file_hard_link);
    tcase_add_test(tc, failed_commit_removes_temp);
    tcase_add_loop_test(tc, ignored_signal_stays_ignored, 0, 2);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
