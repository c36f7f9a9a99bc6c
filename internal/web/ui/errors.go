package ui

import (
	"errors"
	"net/http"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// errorPage is what the error template shows.
type errorPage struct {
	Status    int
	Heading   string
	Message   string
	Advice    string
	RequestID string
	Path      string
	SignIn    bool
}

// ErrorPage renders err as an HTML page with the status web.StatusOf gives
// its kind. The safe message is shown; the cause stays in the log. It is
// installed as web.Params.ErrorPage so every HTML request that fails,
// anywhere in the server, gets a page instead of JSON.
func (u *UI) ErrorPage(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
	p := errorPage{Status: status, Message: fe.Message, RequestID: web.RequestID(r.Context()), Path: r.URL.Path}
	switch status {
	case http.StatusNotFound:
		p.Heading = "Page not found"
		p.Advice = "The address may be mistyped, or the entity was renamed or removed from the catalog. Search for it, or browse the catalog."
	case http.StatusUnauthorized:
		p.Heading = "Sign in required"
		p.Advice = "This page needs you to be signed in."
		p.SignIn = true
	case http.StatusForbidden:
		p.Heading = "Not allowed"
		p.Advice = "Your account does not have permission for this. Ask the owners of the entity, or your portal administrators, for access."
	case http.StatusBadRequest:
		p.Heading = "That request was not understood"
		p.Advice = "Check the address or the form and try again."
	case http.StatusTooManyRequests:
		p.Heading = "Too many requests"
		p.Advice = "Wait a moment and try again."
	case http.StatusServiceUnavailable:
		p.Heading = "Temporarily unavailable"
		p.Advice = "The portal is busy or one of its services is down. Try again in a minute."
	default:
		if status >= 500 {
			p.Heading = "Something went wrong on our side"
			p.Advice = "This is not your fault. Try again; if it keeps happening, send the request id below to your portal administrators."
			p.Message = "The page could not be built."
		} else {
			p.Heading = http.StatusText(status)
		}
	}
	body, err := u.body("error", p)
	if err != nil {
		u.log.ErrorContext(r.Context(), "rendering an error page", "error", err.Error())
		http.Error(w, p.Heading+": "+p.Message, status)
		return
	}
	u.Render(w, r, View{Title: p.Heading, Body: body, Status: status})
}

// fail answers a request whose page could not be built: it goes through
// web.WriteError, which logs and picks the status by kind, and renders
// the error page for browsers.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		err = fault.Wrap(fault.Internal, err, "internal error")
	}
	web.WriteHTMLError(w, r, err, u.ErrorPage)
}

// notFound answers with the 404 page and msg.
func (u *UI) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	u.fail(w, r, fault.New(fault.NotFound, "%s", msg))
}

// statusOfKind is web.StatusOf, for pages that answer a form with an
// error inline instead of the error page.
func statusOfKind(k fault.Kind) int { return web.StatusOf(k) }
