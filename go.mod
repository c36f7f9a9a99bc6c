module github.com/atrium-portal/atrium

go 1.26.8
