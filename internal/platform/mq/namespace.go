package mq

import "strings"

// maxNamespaceLen bounds a namespace so that prefixed stream names stay well
// inside what servers and monitoring tools display.
const maxNamespaceLen = 32

// namespace is the prefix a Bus puts on the wire: "" for none.
type namespace string

func validNamespace(s string) bool {
	if len(s) > maxNamespaceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// stream is the wire name of stream name. Stream names cannot hold dots, so
// the namespace joins with an underscore.
func (n namespace) stream(name string) string {
	if n == "" {
		return name
	}
	return string(n) + "_" + name
}

// subject is the wire form of subject, a filter or a wildcard pattern: the
// namespace becomes its first token, which keeps wildcards working
// unchanged (a.> becomes ns.a.>).
func (n namespace) subject(subject string) string {
	if n == "" {
		return subject
	}
	return string(n) + "." + subject
}

// local turns a subject from the wire back into what callers use. Every
// subject this bus receives went through subject, so the prefix is there.
func (n namespace) local(subject string) string {
	if n == "" {
		return subject
	}
	return strings.TrimPrefix(subject, string(n)+".")
}
