# Filters edited in youju webmail (Settings, Filters).
# x
# y
# youju-filters-v1 {"blacklist":[],"forward":{"enabled":false,"keep":true,"to":[]},"rules":[],"vacation":{"addresses":[],"body":"","days":1,"enabled":false,"end":"","start":"","subject":""},"whitelist":[]}
require ["fileinto"];
