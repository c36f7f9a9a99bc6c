package gen

// Word lists for readable names and descriptions. All lowercase and valid in
// entity names and tags.
var (
	adjectives = []string{
		"amber", "brisk", "calm", "daring", "eager", "fair", "gentle", "hidden", "iron", "jolly",
		"keen", "lunar", "mellow", "noble", "olive", "proud", "quiet", "rapid", "silver", "tidy",
		"urban", "vivid", "warm", "young", "zesty", "bold", "crisp", "dusty", "early", "frosty",
	}
	nouns = []string{
		"otter", "falcon", "harbor", "ledger", "beacon", "cargo", "pylon", "quartz", "ember", "delta",
		"summit", "meadow", "anchor", "comet", "lantern", "relay", "vertex", "canyon", "pixel", "tundra",
		"orbit", "signal", "ripple", "forge", "bridge", "garden", "hollow", "island", "jungle", "kernel",
	}
	purposes = []string{
		"order intake", "parcel tracking", "customer billing", "stock keeping", "route planning",
		"fraud checks", "search", "reporting", "identity", "notifications", "pricing", "returns",
		"payouts", "onboarding", "analytics", "scheduling",
	}
	tagWords = []string{
		"go", "java", "kotlin", "python", "typescript", "rust", "react", "vue", "grpc", "rest",
		"kafka", "postgresql", "redis", "s3", "kubernetes", "terraform", "pci", "gdpr", "tier-1",
		"tier-2", "tier-3", "internal", "public", "legacy", "beta", "ml", "batch", "streaming",
		"mobile", "web", "cli", "sdk", "observability", "security", "data", "payments", "search",
		"edge", "cache", "queue",
	}
	firstNames = []string{
		"ada", "ben", "chen", "dara", "eli", "fia", "gus", "hana", "ivan", "jun", "kai", "lea",
		"mo", "nia", "omar", "pia", "quin", "rui", "sam", "tess", "uma", "vik", "wen", "xia", "yara", "zed",
	}
	lastNames = []string{
		"ahmed", "berg", "costa", "diaz", "evans", "fischer", "garcia", "hansen", "ito", "jensen",
		"kowalski", "lopez", "meyer", "novak", "okafor", "park", "quist", "rossi", "singh", "tanaka",
	}
	componentTypes = []string{"service", "service", "service", "website", "library"}
	lifecycles     = []string{"production", "production", "production", "experimental", "deprecated"}
	resourceTypes  = []string{"database", "s3-bucket", "message-queue", "cache", "kubernetes-cluster"}
	apiTypes       = []string{"openapi", "openapi", "openapi", "openapi", "grpc", "asyncapi", "graphql"}
)
