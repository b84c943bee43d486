/*
 * vsockcat: netcat for AF_VSOCK, for the default guest (busybox has no
 * vsock support). Tests and users move data between the guest and the host
 * through a virtio-vsock device with it.
 *
 *   vsockcat -l PORT      listen on PORT (any CID), accept one connection
 *   vsockcat CID PORT     connect to CID:PORT (the host is CID 2)
 *
 * Then stdin goes to the connection and the connection to stdout. At end of
 * stdin the write side is shut down (the peer sees EOF); the program exits
 * when the peer has closed its side and everything read was written.
 * Exit status: 0 on success, 1 on any error (with a message on stderr),
 * 2 on bad usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static void usage(void)
{
	fprintf(stderr, "usage: vsockcat -l PORT | vsockcat CID PORT\n");
	exit(2);
}

static unsigned parse_u32(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v > 0xffffffffUL)
		usage();
	return (unsigned)v;
}

static int fail(const char *what)
{
	fprintf(stderr, "vsockcat: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Writes all of buf; returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int relay(int sock)
{
	char buf[16384];
	struct pollfd fds[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = sock, .events = POLLIN },
	};
	int stdin_open = 1;

	for (;;) {
		fds[0].fd = stdin_open ? STDIN_FILENO : -1;
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll");
		}
		if (stdin_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno != EINTR)
				return fail("read stdin");
			if (n == 0) {
				stdin_open = 0;
				shutdown(sock, SHUT_WR);
			} else if (n > 0 && write_all(sock, buf, (size_t)n) < 0) {
				return fail("send");
			}
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(sock, buf, sizeof(buf));
			if (n < 0 && errno != EINTR)
				return fail("recv");
			if (n == 0)
				return 0; /* the peer closed its side */
			if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				return fail("write stdout");
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_vm addr;
	int sock;

	memset(&addr, 0, sizeof(addr));
	addr.svm_family = AF_VSOCK;
	if (argc == 3 && strcmp(argv[1], "-l") == 0) {
		addr.svm_cid = VMADDR_CID_ANY;
		addr.svm_port = parse_u32(argv[2]);
		int lsock = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (lsock < 0)
			return fail("socket");
		if (bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			return fail("bind");
		if (listen(lsock, 1) < 0)
			return fail("listen");
		sock = accept(lsock, NULL, NULL);
		if (sock < 0)
			return fail("accept");
		close(lsock);
	} else if (argc == 3) {
		addr.svm_cid = parse_u32(argv[1]);
		addr.svm_port = parse_u32(argv[2]);
		sock = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (sock < 0)
			return fail("socket");
		if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			return fail("connect");
	} else {
		usage();
	}
	int rc = relay(sock);
	close(sock);
	return rc;
}
