// Command pause is the process every pod sandbox of a real test node runs: it holds the pod's
// namespaces open, reaps the orphans that end up as its children (it is PID 1 of a pod that
// shares its PID namespace), and exits cleanly on SIGTERM or SIGINT, which is how the runtime
// stops a sandbox. kubegate builds its own because the nodes pull nothing from the internet.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is what --version prints; the installer checks it to know the build is this program.
const version = "kubegate-pause 1"

func main() {
	if len(os.Args) > 1 {
		if os.Args[1] == "--version" || os.Args[1] == "-v" {
			fmt.Println(version)
			return
		}
		fmt.Fprintf(os.Stderr, "pause takes no arguments (only --version), got %q\n", os.Args[1:])
		os.Exit(2)
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reapChildren()
	}
}

// reapChildren collects every child that has exited, so none stays a zombie. One SIGCHLD may
// stand for several exits, hence the loop until no exited child is left.
func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
