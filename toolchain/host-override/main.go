// host-override is a client-go program that sets the server URL itself, as Kubernetes' own e2e
// framework and many operators' tools do: it loads a kubeconfig and overrides the cluster's
// server with ConfigOverrides.ClusterInfo.Server. client-go then drops the kubeconfig's
// tls-server-name, so the TLS handshake names the URL's host (for an IP address, nothing). The
// tests use it to check that such a program still reaches its cluster through kubegate's edge,
// and that revoking its user still closes its watch.
//
//	host-override --kubeconfig F --context C --server URL list configmaps NAMESPACE
//	host-override --kubeconfig F --context C --server URL watch configmaps NAMESPACE
//
// list prints one object name a line; watch prints "EVENT NAME" a line as events arrive and
// exits when the server ends the watch (exit 3), so a caller can tell a closed watch from an
// error (exit 1). Flags in error: exit 2.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the kubeconfig to load")
	kubeContext := flag.String("context", "", "the context to use")
	server := flag.String("server", "", "the server URL that replaces the cluster's")
	version := flag.Bool("version", false, "print the client-go version it was built with")
	flag.Parse()
	if *version {
		fmt.Println("k8s.io/client-go " + moduleVersion("k8s.io/client-go"))
		return
	}
	args := flag.Args()
	if *kubeconfig == "" || *server == "" || len(args) != 3 || (args[0] != "list" && args[0] != "watch") || args[1] != "configmaps" {
		fmt.Fprintln(os.Stderr, "usage: host-override --kubeconfig F [--context C] --server URL list|watch configmaps NAMESPACE")
		os.Exit(2)
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: *kubeContext, ClusterInfo: clientcmdapi.Cluster{Server: *server}}
	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: *kubeconfig}, overrides).ClientConfig()
	if err != nil {
		fail(err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		fail(err)
	}
	configMaps := client.CoreV1().ConfigMaps(args[2])
	ctx := context.Background()
	if args[0] == "list" {
		list, err := configMaps.List(ctx, metav1.ListOptions{})
		if err != nil {
			fail(err)
		}
		for _, item := range list.Items {
			fmt.Println(item.Name)
		}
		return
	}
	watch, err := configMaps.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		fail(err)
	}
	for event := range watch.ResultChan() {
		name := ""
		if object, ok := event.Object.(metav1.Object); ok {
			name = object.GetName()
		}
		fmt.Printf("%s %s\n", event.Type, name)
	}
	fmt.Fprintln(os.Stderr, "the watch was closed by the server")
	os.Exit(3)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "unknown"
}
