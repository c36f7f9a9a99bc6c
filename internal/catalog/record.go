package catalog

import "time"

// Record is an entity as the store keeps it: the processed body plus what is
// derived from it for queries. The catalog builds records; the store only
// persists and indexes them.
type Record struct {
	UID       string // metadata.uid, stable while the entity exists
	Ref       string // canonical ref (lowercase), unique
	Kind      string // as written
	Namespace string // as written
	Name      string // as written
	Body      []byte // JSON of the processed entity, without relations and status
	Hash      string // hash of the unprocessed input; equal hash means nothing to do
	// LocationKey is who may write this entity: the first writer wins a
	// conflict, a different key is refused (empty keys can be taken over).
	LocationKey string
	// Relations are the rows this entity's processing produced: both the
	// forward rows (Source = Ref) and the inverse rows (Target = Ref).
	Relations []RelationRow
	// Search are the flattened, lowercased key/value rows used by filters,
	// ordering and facets. Relations are not in it; they are queried from
	// the relation rows.
	Search []SearchRow
	// Text is the document for full-text search.
	Text string
	// Errors are the status items of the last processing attempt. When they
	// hold an error the Body is the last good one.
	Errors []StatusItem
}

// RelationRow is one stored relation, originating from the entity that
// declared it.
type RelationRow struct {
	Source string // canonical ref
	Type   string // as Backstage spells it: ownedBy, ownerOf, ...
	Target string // canonical ref
}

// SearchRow is one indexed key/value pair of an entity.
type SearchRow struct {
	Key      string // lowercased dot path
	Value    string // lowercased value; "" for values too long to index
	Original string // the value as written (facets show it)
}

// Stored is a record as read back, with what other entities contribute.
type Stored struct {
	UID       string
	Ref       string
	Body      []byte
	Hash      string
	Relations []Relation   // outgoing: every row with Source = Ref, sorted by type then target
	Errors    []StatusItem // status items of the last processing
	CreatedAt time.Time
	UpdatedAt time.Time
	// SortValue is the value of the order field this item was sorted by
	// (nil when the entity lacks it); the API builds cursors from it.
	SortValue *string
}
