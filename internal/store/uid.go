package store

import "github.com/google/uuid"

// NewUID returns a new metadata.uid: a version 7 UUID, which starts with
// the time it was made. Entities written together get neighbouring uids,
// so the stores' unique uid indexes grow at one end instead of taking
// every new entity at a random place (at 100k entities, a random uid
// touched another index page for almost every entity written). A uid stays
// an opaque string to readers, as in Backstage.
func NewUID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
