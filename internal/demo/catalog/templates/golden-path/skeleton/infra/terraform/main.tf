# The Azure database of ${{ values.name }}, run in the Terraform Cloud
# workspace ${{ values.name }}. The workspace's variables location,
# db_sku and resource_group are set by the golden-path template.
terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
  }
}

provider "azurerm" {
  features {}
}

variable "location" {
  type = string
}

variable "db_sku" {
  type = string
}

variable "resource_group" {
  type = string
}

resource "azurerm_resource_group" "main" {
  name     = var.resource_group
  location = var.location
  tags     = { idp-component = "${{ values.name }}" }
}

resource "azurerm_postgresql_flexible_server" "db" {
  name                = "${{ values.name }}-db"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  version             = "16"
  sku_name            = "B_${var.db_sku}"
  storage_mb          = 32768
  authentication {
    active_directory_auth_enabled = true
    password_auth_enabled         = false
  }
  tags = { idp-component = "${{ values.name }}" }
}

resource "azurerm_postgresql_flexible_server_database" "app" {
  name      = "app"
  server_id = azurerm_postgresql_flexible_server.db.id
}

output "db_host" {
  value = "${{ values.name }}-db.postgres.database.azure.com"
}

output "db_name" {
  value = "app"
}

output "resource_group" {
  value = "rg-${{ values.name }}"
}
