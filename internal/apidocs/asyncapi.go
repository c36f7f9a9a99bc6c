package apidocs

import (
	"html/template"
	"strings"

	"github.com/atrium-portal/atrium/internal/markdown"
)

// asyncDoc is what the asyncapi template shows.
type asyncDoc struct {
	Title, Version, Spec string
	Description          template.HTML
	Servers              []asyncServer
	Channels             []channel
	Omitted              int
}

type asyncServer struct {
	Name, URL, Protocol string
	Description         template.HTML
}

type channel struct {
	Anchor      string
	Name        string
	Address     string
	Description template.HTML
	Ops         []asyncOp
}

type asyncOp struct {
	// Action is publish or subscribe (AsyncAPI 2), send or receive (3).
	Action      string
	ID          string
	Summary     string
	Description template.HTML
	Messages    []message
}

type message struct {
	Name, Title, ContentType string
	Description              template.HTML
	Payload                  *Schema
	Headers                  *Schema
}

// asyncAPI builds the view of an AsyncAPI 2 or 3 document.
func asyncAPI(root *obj, lim Limits) *asyncDoc {
	w := &schemaWalker{root: root, budget: lim.MaxSchemaNodes, maxDepth: lim.MaxSchemaDepth}
	info := root.obj("info")
	version := root.str("asyncapi")
	d := &asyncDoc{
		Title: info.str("title"), Version: info.str("version"), Spec: "AsyncAPI " + version,
		Description: markdown.HTML(info.str("description")),
	}
	v3 := strings.HasPrefix(version, "3")
	servers := root.obj("servers")
	for _, name := range servers.keysOrNil() {
		s := deref(root, servers.m[name])
		u := s.str("url")
		if v3 {
			u = s.str("host") + s.str("pathname")
		}
		d.Servers = append(d.Servers, asyncServer{Name: name, URL: u, Protocol: s.str("protocol"), Description: markdown.HTML(s.str("description"))})
	}
	channels := root.obj("channels")
	count := 0
	byKey := map[string]int{}
	for _, name := range channels.keysOrNil() {
		if count >= lim.MaxOperations {
			d.Omitted++
			continue
		}
		count++
		ch := deref(root, channels.m[name])
		c := channel{Anchor: "ch-" + anchor(name), Name: name, Description: markdown.HTML(ch.str("description"))}
		if v3 {
			c.Address = ch.str("address")
		}
		if !v3 {
			for _, action := range []string{"publish", "subscribe"} {
				op := ch.obj(action)
				if op == nil {
					continue
				}
				c.Ops = append(c.Ops, asyncOp{
					Action: action, ID: op.str("operationId"), Summary: op.str("summary"),
					Description: markdown.HTML(op.str("description")),
					Messages:    messagesOf(w, root, op.get("message")),
				})
			}
		}
		byKey[name] = len(d.Channels)
		d.Channels = append(d.Channels, c)
	}
	if v3 {
		ops := root.obj("operations")
		for _, id := range ops.keysOrNil() {
			op := deref(root, ops.m[id])
			chRef := op.obj("channel").str("$ref")
			i, ok := byKey[unescapePointer(refName(chRef))]
			if !ok {
				continue
			}
			ao := asyncOp{Action: op.str("action"), ID: id, Summary: op.str("summary"), Description: markdown.HTML(op.str("description"))}
			msgs := op.list("messages")
			if len(msgs) == 0 {
				ch := deref(root, channels.m[d.Channels[i].Name])
				cm := ch.obj("messages")
				for _, k := range cm.keysOrNil() {
					msgs = append(msgs, cm.m[k])
				}
			}
			for _, m := range msgs {
				ao.Messages = append(ao.Messages, messagesOf(w, root, m)...)
			}
			d.Channels[i].Ops = append(d.Channels[i].Ops, ao)
		}
	}
	return d
}

func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// messagesOf resolves a message, a $ref to one, or a oneOf list of them.
func messagesOf(w *schemaWalker, root *obj, v any) []message {
	m := deref(root, v)
	if m == nil {
		return nil
	}
	if list := m.list("oneOf"); len(list) > 0 {
		var out []message
		for _, item := range list {
			out = append(out, messagesOf(w, root, item)...)
		}
		return out
	}
	msg := message{
		Name: m.str("name"), Title: m.str("title"), ContentType: m.str("contentType"),
		Description: markdown.HTML(firstNonEmpty(m.str("description"), m.str("summary"))),
	}
	if ref, ok := v.(*obj); ok && msg.Name == "" {
		msg.Name = refName(ref.str("$ref"))
	}
	if p := m.get("payload"); p != nil {
		// AsyncAPI 3 may wrap the payload in a multi-format schema object.
		if po, ok := p.(*obj); ok && po.get("schemaFormat") != nil && po.get("schema") != nil {
			p = po.get("schema")
		}
		msg.Payload = w.build("", p, false, 0, nil)
	}
	if h := m.get("headers"); h != nil {
		msg.Headers = w.build("", h, false, 0, nil)
	}
	return []message{msg}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
