// CoreDNS v1.12 for the collector's tests: a release that clusters run today (EKS, AKS and
// kubeadm ship 1.11 and 1.12), which on a dual-stack listener sends an IPv4 client's address
// to dnstap as 16 bytes (::ffff:a.b.c.d). Only the plugins the tests use.
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/dnstap"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/log"
)

func main() { coremain.Run() }
